/**
 * The stage reads two topics with different payloads. The runner hands `process` physical topic
 * names (`${prefix}.weather.raw.v1`), so the codec recognises a topic by its logical suffix and
 * decodes the payload that topic carries.
 */

import { type ValidatedReading, type WeatherObservation, WeatherObservationSchema } from '../../domain/messages.js';
import { parseTime } from '../../domain/time-memo.js';
import { TOPICS } from '../../domain/topics.js';
import { type Codec, jsonCodec, unexpectedTopicCode } from '../../pipeline/index.js';
import { validatedReadingCodec } from '../shared/message-codecs.js';

export type EnrichInput =
  | { readonly kind: 'weather'; readonly observation: WeatherObservation }
  | { readonly kind: 'reading'; readonly reading: ValidatedReading };

export const enrichInputTopics = [TOPICS.weatherRaw, TOPICS.readingsValidated] as const;

/** True when `physical` is `logical` with or without an environment prefix. */
export function isTopic(physical: string, logical: string): boolean {
  return physical === logical || physical.endsWith(`.${logical}`);
}

const weatherCodec = jsonCodec(
  (v) => WeatherObservationSchema.parse(v),
  (o) => parseTime(o.time),
);

/** Both payload codecs are jsonCodecs, which always adopt. */
const adoptWith = <T>(codec: Codec<T>, value: unknown, topic: string, from?: Codec<unknown>) =>
  (codec.adopt as NonNullable<Codec<T>['adopt']>)(value, topic, from);

export const enrichInputCodec: Codec<EnrichInput> = {
  decode(raw) {
    if (isTopic(raw.topic, TOPICS.weatherRaw)) {
      const decoded = weatherCodec.decode(raw);
      return decoded.ok ? { ...decoded, value: { kind: 'weather', observation: decoded.value } } : decoded;
    }
    if (isTopic(raw.topic, TOPICS.readingsValidated)) {
      const decoded = validatedReadingCodec.decode(raw);
      return decoded.ok ? { ...decoded, value: { kind: 'reading', reading: decoded.value } } : decoded;
    }
    return { ok: false, code: unexpectedTopicCode, message: `enrich_weather does not read ${raw.topic}` };
  },
  adopt(value, topic, from) {
    if (isTopic(topic, TOPICS.weatherRaw)) {
      const adopted = adoptWith(weatherCodec, value, topic, from);
      return adopted.ok ? { ...adopted, value: { kind: 'weather', observation: adopted.value } } : adopted;
    }
    if (isTopic(topic, TOPICS.readingsValidated)) {
      const adopted = adoptWith(validatedReadingCodec, value, topic, from);
      return adopted.ok ? { ...adopted, value: { kind: 'reading', reading: adopted.value } } : adopted;
    }
    return { ok: false, code: unexpectedTopicCode, message: `enrich_weather does not read ${topic}` };
  },
  encode(value) {
    return value.kind === 'weather'
      ? weatherCodec.encode(value.observation)
      : validatedReadingCodec.encode(value.reading);
  },
};
