/**
 * What embed_profiles reads: scored readings (the enriched reading plus score_anomaly's fields) and
 * anomaly alerts. Only the fields it uses are checked, so fields added within v1 pass through.
 */
import { z } from 'zod';
import { parseTime } from '../../domain/time-memo.js';
import { type Codec, jsonCodec, unexpectedTopicCode } from '../../pipeline/index.js';
import { isTopic } from '../enrich_weather/input.js';

const reading = z.object({
  meter_id: z.string().min(3),
  building_id: z.string().min(1),
  site_id: z.string().min(1),
  meter_type: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  value: z.number().finite(),
  air_temperature: z.number().nullable().optional(),
  dew_temperature: z.number().nullable().optional(),
});
export type ScoredReadingInput = z.infer<typeof reading>;

const alert = z.object({
  meter_id: z.string().min(3),
  building_id: z.string().min(1),
  site_id: z.string().min(1).optional(),
  meter_type: z.string().min(1).optional(),
  time: z.iso.datetime({ offset: true }),
  value: z.number().finite(),
  expected: z.number().finite().nullable().optional(),
  anomaly_score: z.number().finite().optional(),
  score: z.number().finite().optional(),
  model_version: z.string().optional(),
});
export type AnomalyAlertInput = z.infer<typeof alert>;

export type EmbedInput =
  | { readonly kind: 'reading'; readonly reading: ScoredReadingInput }
  | { readonly kind: 'anomaly'; readonly alert: AnomalyAlertInput };

const readingCodec = jsonCodec(
  (v) => reading.parse(v),
  (r) => parseTime(r.time),
);
const alertCodec = jsonCodec(
  (v) => alert.parse(v),
  (a) => parseTime(a.time),
);

export function embedInputCodec(readingsTopic: string, alertsTopic: string): Codec<EmbedInput> {
  const route = <T>(
    topic: string,
    make: (c: Codec<unknown>) => ReturnType<Codec<T>['decode']>,
  ): ReturnType<Codec<EmbedInput>['decode']> => {
    if (isTopic(topic, readingsTopic)) {
      const r = make(readingCodec as Codec<unknown>);
      return r.ok ? { ...r, value: { kind: 'reading', reading: r.value as ScoredReadingInput } } : r;
    }
    if (isTopic(topic, alertsTopic)) {
      const r = make(alertCodec as Codec<unknown>);
      return r.ok ? { ...r, value: { kind: 'anomaly', alert: r.value as AnomalyAlertInput } } : r;
    }
    return { ok: false, code: unexpectedTopicCode, message: `embed_profiles does not read ${topic}` };
  };
  return {
    decode: (raw) => route(raw.topic, (c) => c.decode(raw)),
    adopt: (value, topic, from) =>
      route(topic, (c) => (c.adopt as NonNullable<Codec<unknown>['adopt']>)(value, topic, from)),
    encode: (value) => (value.kind === 'reading' ? readingCodec.encode(value.reading) : alertCodec.encode(value.alert)),
  };
}
