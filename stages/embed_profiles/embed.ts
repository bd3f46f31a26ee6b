/**
 * Day and alert → Milvus row: features, the encoder, and the row's scalar fields. Shared by the
 * stage, `eaio eval similarity` and `eaio bench embed`.
 */
import type { DayAccumulator } from './day.js';
import { HOUR_MS, localDayOf } from './day.js';
import type { ProfileEncoder } from './encoder.js';
import { EMBEDDING_DIM } from './encoder.js';
import { dayFeatures, FEATURE_COUNT, weatherSummary } from './features.js';
import { type PatternRow, patternId, type SignatureRow, signatureId } from './milvus-store.js';
import type { MeterInfo } from './state.js';
import type { StoredReading } from './store.js';

export interface DayToEmbed {
  readonly info: MeterInfo;
  readonly acc: DayAccumulator;
}

/** Vectors of these days, one encoder call: row i of the result is days[i]. */
export async function embedDays(encoder: ProfileEncoder, days: readonly DayToEmbed[]): Promise<number[][]> {
  const features = new Float32Array(days.length * FEATURE_COUNT);
  for (const [i, d] of days.entries())
    dayFeatures(
      {
        zone: d.info.zone,
        day: d.acc.day,
        values: d.acc.values,
        weather: d.acc.weather.values(),
        floorAreaSqm: d.info.floorAreaSqm,
      },
      features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT),
    );
  const out = await encoder.encode(features, days.length);
  return days.map((_, i) => Array.from(out.subarray(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM)));
}

const round = (x: number | null, digits = 3): number | null =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;

export function patternRow(d: DayToEmbed, embedding: number[], modelVersion: string, nowMs: number): PatternRow {
  const values = [...d.acc.values.values()];
  const w = weatherSummary(d.acc.weather.values());
  return {
    id: patternId(d.info.meterId, d.acc.day.date),
    embedding,
    building_id: d.info.buildingId,
    meter_id: d.info.meterId,
    meter_type: d.info.meterType,
    pattern_type: 'daily_profile',
    day: d.acc.day.date,
    day_start_ms: d.acc.day.startMs,
    primary_use: d.info.primaryUse ?? '',
    site_id: d.info.siteId,
    confidence: Math.min(1, d.acc.values.size / d.acc.day.hours),
    hours: d.acc.values.size,
    mean_value: values.length ? values.reduce((s, x) => s + x, 0) / values.length : 0,
    weather: {
      temp_mean: round(w.tempMean),
      temp_min: round(w.tempMin),
      temp_max: round(w.tempMax),
      dew_mean: round(w.dewMean),
      hours: w.hours,
    },
    model_version: modelVersion,
    created_at_ms: nowMs,
  };
}

export interface AlertToEmbed {
  readonly info: MeterInfo;
  readonly timeMs: number;
  readonly value: number;
  readonly expected: number | null;
  readonly score: number;
  readonly anomalyModel: string;
}

/** The window of an alert: the 24 hours ending with its hour, laid out by local hour like a day. */
export const ALERT_WINDOW_HOURS = 24;

export async function embedAlert(
  encoder: ProfileEncoder,
  alert: AlertToEmbed,
  window: readonly StoredReading[],
  modelVersion: string,
  nowMs: number,
): Promise<SignatureRow> {
  const hourMs = Math.floor(alert.timeMs / HOUR_MS) * HOUR_MS;
  const values = new Map(window.map((r) => [r.timeMs, r.value] as const));
  values.set(hourMs, alert.value);
  const local = localDayOf(alert.info.zone, hourMs);
  const day = {
    date: local.date,
    startMs: hourMs - (ALERT_WINDOW_HOURS - 1) * HOUR_MS,
    endMs: hourMs + HOUR_MS,
    hours: ALERT_WINDOW_HOURS,
  };
  const features = dayFeatures({
    zone: alert.info.zone,
    day,
    values,
    weather: window.map((r) => ({ airTemperature: r.airTemperature, dewTemperature: r.dewTemperature })),
    floorAreaSqm: alert.info.floorAreaSqm,
  });
  const embedding = Array.from(await encoder.encode(features, 1));
  return {
    id: signatureId(alert.info.meterId, hourMs),
    embedding,
    building_id: alert.info.buildingId,
    meter_id: alert.info.meterId,
    meter_type: alert.info.meterType,
    time_ms: hourMs,
    value: alert.value,
    // Milvus scalars are not nullable here (docs/storage.md): 0 when the alert carries no expectation.
    expected: alert.expected ?? 0,
    anomaly_score: alert.score,
    primary_use: alert.info.primaryUse ?? '',
    site_id: alert.info.siteId,
    confidence: Math.min(1, values.size / ALERT_WINDOW_HOURS),
    anomaly_model: alert.anomalyModel,
    model_version: modelVersion,
    created_at_ms: nowMs,
  };
}
