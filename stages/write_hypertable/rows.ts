/** Pure parts of write_hypertable: payload → row, duplicates within a batch, offsets to store. */
import { z } from 'zod';
import { EnrichedReadingSchema, ScoredReadingSchema } from '../../domain/messages.js';
import { isoTime, parseTime } from '../../domain/time-memo.js';
import type { Envelope, StoredOffset } from '../../pipeline/index.js';

/**
 * What the writer accepts: a ScoredReading (score_anomaly's output), or an EnrichedReading without
 * scores (EAIO_WRITE_HYPERTABLE_INPUT_TOPIC=readings.enriched.v1); it stores either.
 */
export const WritableReadingSchema = EnrichedReadingSchema.extend({
  anomaly_score: z.number().nullable().optional(),
  is_anomaly: z.boolean().nullable().optional(),
  expected_value: ScoredReadingSchema.shape.expected_value.optional(),
  confidence: ScoredReadingSchema.shape.confidence.optional(),
  cold_start: ScoredReadingSchema.shape.cold_start.optional(),
  model_version: ScoredReadingSchema.shape.model_version.optional(),
  anomaly_features: ScoredReadingSchema.shape.anomaly_features,
});
export type WritableReading = z.infer<typeof WritableReadingSchema>;

/** A row of `anomalies`: a flagged reading (is_anomaly with its score and model). */
export interface AnomalyRow {
  readonly meter_id: string;
  readonly time: string;
  readonly building_id: string;
  readonly site_id: string;
  readonly meter_type: string;
  readonly value: number;
  readonly expected_value: number | null;
  readonly anomaly_score: number;
  readonly confidence: number;
  readonly cold_start: boolean;
  readonly model_version: string;
  /** JSON text of the features by name. */
  readonly features: string;
}

/** What a batch does to `anomalies`: the flagged latest versions, and the keys whose latest version is not flagged. */
export interface AnomalyChanges {
  readonly flagged: AnomalyRow[];
  readonly cleared: { readonly meter_id: string; readonly time: string }[];
}

/**
 * Per (meter, hour), the latest version of the batch decides (as for meter_readings): flagged → a
 * row of `anomalies`, not flagged → no row. Readings without a score (unscored input) change nothing.
 */
export function anomalyChanges(readings: readonly WritableReading[]): AnomalyChanges {
  const latest = new Map<string, WritableReading>();
  for (const r of readings) latest.set(`${r.meter_id}\u0000${parseTime(r.time)}`, r);
  const flagged: AnomalyRow[] = [];
  const cleared: { meter_id: string; time: string }[] = [];
  for (const r of latest.values()) {
    if (r.is_anomaly === true && r.anomaly_score != null && r.model_version !== undefined)
      flagged.push({
        meter_id: r.meter_id,
        time: r.time,
        building_id: r.building_id,
        site_id: r.site_id,
        meter_type: r.meter_type,
        value: r.value,
        expected_value: r.expected_value ?? null,
        anomaly_score: r.anomaly_score,
        confidence: r.confidence ?? 0,
        cold_start: r.cold_start ?? false,
        model_version: r.model_version,
        features: JSON.stringify(r.anomaly_features ?? {}),
      });
    else if (r.anomaly_score != null) cleared.push({ meter_id: r.meter_id, time: r.time });
  }
  return { flagged, cleared };
}

/** Columns of `meter_readings` the writer sets, in statement order. */
export const ROW_COLUMNS = [
  'time',
  'meter_id',
  'building_id',
  'site_id',
  'meter_type',
  'value',
  'unit',
  'quality_code',
  'is_estimated',
  'anomaly_score',
  'is_anomaly',
  'air_temperature',
  'cloud_coverage',
  'dew_temperature',
  'precip_depth_1h',
  'sea_level_pressure',
  'wind_direction',
  'wind_speed',
  'source',
] as const;

export type RowColumn = (typeof ROW_COLUMNS)[number];
export type MeterReadingRow = { readonly [C in RowColumn]: string | number | boolean | null };

export function toMeterReadingRow(r: WritableReading): MeterReadingRow {
  return {
    time: r.time,
    meter_id: r.meter_id,
    building_id: r.building_id,
    site_id: r.site_id,
    meter_type: r.meter_type,
    value: r.value,
    unit: r.unit,
    quality_code: r.quality_code,
    is_estimated: r.is_estimated,
    anomaly_score: r.anomaly_score ?? null,
    is_anomaly: r.is_anomaly ?? null,
    air_temperature: r.air_temperature,
    cloud_coverage: r.cloud_coverage,
    dew_temperature: r.dew_temperature,
    precip_depth_1h: r.precip_depth_1h,
    sea_level_pressure: r.sea_level_pressure,
    wind_direction: r.wind_direction,
    wind_speed: r.wind_speed,
    source: r.source,
  };
}

/**
 * One row per (meter, hour), the one read last: a single INSERT ... ON CONFLICT cannot update the
 * same row twice, and the later record is the newer version (a re-sent correction).
 */
export function latestPerMeterHour(rows: readonly MeterReadingRow[]): MeterReadingRow[] {
  return latestPerMeterHourCounted(rows).rows;
}

/** Columns that make two versions of a (meter, hour) different (the time's spelling does not). */
const VERSION_COLUMNS = ROW_COLUMNS.filter((c) => c !== 'time');

/**
 * The latest row per (meter, hour), and how many earlier, different versions of the batch it
 * superseded (the latest wins, as it does against a stored row; an identical repeat supersedes nothing).
 */
export function latestPerMeterHourCounted(rows: readonly MeterReadingRow[]): {
  rows: MeterReadingRow[];
  superseded: number;
} {
  const byKey = new Map<string, MeterReadingRow>();
  let superseded = 0;
  for (const row of rows) {
    const key = `${row.meter_id}\u0000${parseTime(String(row.time))}`;
    const earlier = byKey.get(key);
    if (earlier !== undefined && VERSION_COLUMNS.some((c) => earlier[c] !== row[c])) superseded++;
    byKey.set(key, row);
  }
  return { rows: [...byKey.values()], superseded };
}

/** Per topic and partition, the offset to resume from: the highest offset of the batch + 1. */
export function nextOffsets(batch: readonly Pick<Envelope<unknown>, 'raw'>[]): StoredOffset[] {
  const highest = new Map<string, { topic: string; partition: number; offset: bigint }>();
  for (const { raw } of batch) {
    const key = `${raw.topic}\u0000${raw.partition}`;
    const offset = BigInt(raw.offset);
    const current = highest.get(key);
    if (!current || offset > current.offset) highest.set(key, { topic: raw.topic, partition: raw.partition, offset });
  }
  return [...highest.values()].map((h) => ({
    topic: h.topic,
    partition: h.partition,
    offset: (h.offset + 1n).toString(),
  }));
}

/** The UTC months the rows fall in, as `YYYY-MM`, ascending: the monthly partitions they need. */
export function monthsOf(rows: readonly Pick<MeterReadingRow, 'time'>[]): string[] {
  return [...new Set(rows.map((r) => isoTime(parseTime(String(r.time))).slice(0, 7)))].sort();
}
