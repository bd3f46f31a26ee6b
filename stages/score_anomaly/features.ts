/**
 * The anomaly features of one reading: the single definition shared by the stage, `eaio eval
 * anomalies` and model training (models/anomaly/export-features.ts writes the training matrix with
 * it), so what the model learnt is exactly what it is fed.
 *
 * Causal by construction: a reading's features read only the reading, its weather, the building's
 * static attributes and the meter's history strictly before its hour (MeterHistory.at hides the
 * rest). Deviations are divided by the meter's own level, so the model sees shapes, not buildings.
 */
import { USE_TYPE_BY_BDG2 } from '../../sources/bdg2/metadata.js';
import { HOUR_MS, type MeterHistory } from './history.js';
import { localCalendar, sameLocalHourDaysBack } from './local-clock.js';

/** The model input, column by column (the ONNX contract; see models/anomaly/MODEL_CARD.md). */
export const FEATURE_NAMES = [
  'dev_week',
  'dev_daytype',
  'dev_day',
  'z_daytype',
  'z_day',
  'ratio_level',
  'dev_prev',
  'dev_daytype_6h',
  'repeat_run',
  'zero_run',
  'is_zero',
  'gap_hours',
  'missing_24h',
  'confidence',
  'hour_sin',
  'hour_cos',
  'is_weekend',
  'air_temperature',
  'weather_missing',
  'log10_area',
  'use_type',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length;
/**
 * Each feature's column, written out as a literal (a test checks it against FEATURE_NAMES): V8
 * keeps a literal's property loads fast, while an object built at run time with
 * Object.fromEntries sent the feature code into repeated deoptimisation.
 */
export const COLUMN = {
  dev_week: 0,
  dev_daytype: 1,
  dev_day: 2,
  z_daytype: 3,
  z_day: 4,
  ratio_level: 5,
  dev_prev: 6,
  dev_daytype_6h: 7,
  repeat_run: 8,
  zero_run: 9,
  is_zero: 10,
  gap_hours: 11,
  missing_24h: 12,
  confidence: 13,
  hour_sin: 14,
  hour_cos: 15,
  is_weekend: 16,
  air_temperature: 17,
  weather_missing: 18,
  log10_area: 19,
  use_type: 20,
} as const satisfies Record<FeatureName, number>;

/** What is known of a meter's building; every field may be unknown. */
export interface StaticAttributes {
  /** IANA zone for the local hour and day; UTC when unknown. */
  readonly timeZone?: string | undefined;
  /** BDG2 primaryspaceusage (`Education`) or the catalog's building_use_type (`education`). */
  readonly primaryUse?: string | null | undefined;
  readonly areaSqm?: number | null | undefined;
}

/** The reading being scored. */
export interface ReadingInput {
  readonly timeMs: number;
  readonly value: number;
  readonly airTemperature?: number | null | undefined;
  readonly weatherMissing?: boolean | undefined;
}

export interface FeatureSummary {
  /** What the meter's own past says this hour should read; null without usable history. */
  readonly expected: number | null;
  /** Share of the past 7 days with a reading, 0 (cold) to 1. */
  readonly confidence: number;
}

const DAY_WINDOW = 7;
const DAYTYPE_WINDOW = 21;
const WEEK_WINDOW = 4;
const RECENT_HOURS = 6;
const RUN_CAP = 168;
const CLIP = 20;

const USE_CODES = new Map<string, number>();
for (const [i, [bdg2, catalog]] of Object.entries(USE_TYPE_BY_BDG2).entries()) {
  USE_CODES.set(bdg2.toLowerCase(), i + 1);
  USE_CODES.set(catalog, i + 1);
}

/** 0 when unknown, else 1 + the position of the use in BDG2's list. */
export function useTypeCode(use: string | null | undefined): number {
  return use ? (USE_CODES.get(use.trim().toLowerCase()) ?? 0) : 0;
}

const clip = (x: number): number => (Number.isFinite(x) ? Math.max(-CLIP, Math.min(CLIP, x)) : 0);
const isWeekend = (dayOfWeek: number): boolean => dayOfWeek === 0 || dayOfWeek === 6;

/**
 * Moves the k-th smallest of the first n values to index k, smaller ones before it (Hoare's
 * selection). A median per feature and reading, several per reading: selecting instead of sorting
 * a fresh subarray took a tenth of the stage's time.
 */
function select(values: Float64Array, n: number, k: number): void {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((values[i] as number) < pivot) i++;
      while ((values[j] as number) > pivot) j--;
      if (i <= j) {
        const t = values[i] as number;
        values[i] = values[j] as number;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** Median of the first n values (reorders them); NaN when n = 0. */
export function median(values: Float64Array, n: number): number {
  if (n === 0) return Number.NaN;
  const mid = n >> 1;
  select(values, n, mid);
  const upper = values[mid] as number;
  if (n % 2 === 1) return upper;
  let lower = values[0] as number;
  for (let i = 1; i < mid; i++) if ((values[i] as number) > lower) lower = values[i] as number;
  return (lower + upper) / 2;
}

/** Median absolute deviation of the first n values from m (overwrites them). */
function mad(values: Float64Array, n: number, m: number): number {
  for (let i = 0; i < n; i++) values[i] = Math.abs((values[i] as number) - m);
  return median(values, n);
}

const scratch = new Float64Array(24 * DAY_WINDOW);

/** Same local hour on past days (1..days back), optionally only days of the same kind (weekday/weekend). */
function collectSameHour(
  history: MeterHistory,
  zone: string | undefined,
  hour: number,
  days: number,
  step: number,
  weekendOnly: boolean | undefined,
  dayOfWeek: number,
): number {
  let n = 0;
  for (let d = step; d <= days; d += step) {
    if (weekendOnly !== undefined && isWeekend((((dayOfWeek - d) % 7) + 7) % 7) !== weekendOnly) continue;
    const v = history.at(sameLocalHourDaysBack(zone, hour, d), hour);
    if (!Number.isNaN(v)) scratch[n++] = v;
  }
  return n;
}

/** Median of the same local hour on past days of the same kind, or NaN. */
function daytypeMedian(history: MeterHistory, zone: string | undefined, hour: number): number {
  const known = history.remembered(hour);
  if (known !== undefined) return known;
  const { dayOfWeek } = localCalendar(zone, hour);
  const n = collectSameHour(history, zone, hour, DAYTYPE_WINDOW, 1, isWeekend(dayOfWeek), dayOfWeek);
  const value = median(scratch, n);
  history.remember(hour, value);
  return value;
}

/**
 * Writes the features of `reading` into `out` at `offset` (FEATURE_COUNT values) and returns the
 * expected value and confidence. Does not record the reading: call history.record afterwards.
 */
export function computeFeatures(
  history: MeterHistory,
  reading: ReadingInput,
  attributes: StaticAttributes,
  out: Float32Array,
  offset: number,
): FeatureSummary {
  const zone = attributes.timeZone;
  const hour = Math.floor(reading.timeMs / HOUR_MS);
  const v = reading.value;
  const { hourOfDay, dayOfWeek } = localCalendar(zone, hour);
  const weekend = isWeekend(dayOfWeek);

  // Level: the meter's typical magnitude over the past week, the scale of every deviation.
  let n = 0;
  let sumAbs = 0;
  for (let h = hour - 24 * DAY_WINDOW; h < hour; h++) {
    const x = history.at(h, hour);
    if (!Number.isNaN(x)) {
      scratch[n++] = Math.abs(x);
      sumAbs += Math.abs(x);
    }
  }
  const present = n;
  const confidence = present / (24 * DAY_WINDOW);
  const meanAbs = n > 0 ? sumAbs / n : 0;
  let level = Math.max(median(scratch, n), 0.25 * meanAbs);
  if (!(level > 1e-9)) level = 1;

  n = collectSameHour(history, zone, hour, 7 * WEEK_WINDOW, 7, undefined, dayOfWeek);
  const medWeek = median(scratch, n);

  n = collectSameHour(history, zone, hour, DAY_WINDOW, 1, undefined, dayOfWeek);
  const medDay = median(scratch, n);
  const madDay = mad(scratch, n, medDay);
  const dayCount = n;

  n = collectSameHour(history, zone, hour, DAYTYPE_WINDOW, 1, weekend, dayOfWeek);
  const medType = median(scratch, n);
  // The next hours' recent-deviation feature reads this hour's daytype median again.
  history.remember(hour, medType);
  const madType = mad(scratch, n, medType);
  const typeCount = n;

  const floor = 0.02 * level;
  const devType = Number.isNaN(medType) ? 0 : (v - medType) / level;
  let recentSum = devType;
  let recentCount = 1;
  for (let k = 1; k < RECENT_HOURS; k++) {
    const x = history.at(hour - k, hour);
    if (Number.isNaN(x)) continue;
    const m = daytypeMedian(history, zone, hour - k);
    if (Number.isNaN(m)) continue;
    recentSum += (x - m) / level;
    recentCount++;
  }

  // Runs and gaps, walking back from the previous hour.
  let previous = Number.NaN;
  let gap = 0;
  for (let h = hour - 1; h >= hour - RUN_CAP; h--) {
    previous = history.at(h, hour);
    if (!Number.isNaN(previous)) break;
    gap++;
  }
  let repeat = 0;
  for (let h = hour - 1; h >= hour - RUN_CAP && history.at(h, hour) === v; h--) repeat++;
  let zeroRun = 0;
  if (v === 0) {
    zeroRun = 1;
    for (let h = hour - 1; h >= hour - RUN_CAP && history.at(h, hour) === 0; h--) zeroRun++;
  }
  let missing = 0;
  for (let h = hour - 24; h < hour; h++) if (Number.isNaN(history.at(h, hour))) missing++;

  const weatherMissing = reading.weatherMissing === true || reading.airTemperature == null;
  const area = attributes.areaSqm;

  out[offset + COLUMN.dev_week] = Number.isNaN(medWeek) ? 0 : clip((v - medWeek) / level);
  out[offset + COLUMN.dev_daytype] = clip(devType);
  out[offset + COLUMN.dev_day] = Number.isNaN(medDay) ? 0 : clip((v - medDay) / level);
  out[offset + COLUMN.z_daytype] = Number.isNaN(medType) ? 0 : clip((v - medType) / Math.max(1.4826 * madType, floor));
  out[offset + COLUMN.z_day] = Number.isNaN(medDay) ? 0 : clip((v - medDay) / Math.max(1.4826 * madDay, floor));
  out[offset + COLUMN.ratio_level] = present === 0 ? 1 : clip(v / level);
  out[offset + COLUMN.dev_prev] = Number.isNaN(previous) ? 0 : clip((v - previous) / level);
  out[offset + COLUMN.dev_daytype_6h] = clip(recentSum / recentCount);
  out[offset + COLUMN.repeat_run] = Math.log1p(repeat);
  out[offset + COLUMN.zero_run] = Math.log1p(zeroRun);
  out[offset + COLUMN.is_zero] = v === 0 ? 1 : 0;
  out[offset + COLUMN.gap_hours] = Math.log1p(gap);
  out[offset + COLUMN.missing_24h] = missing / 24;
  out[offset + COLUMN.confidence] = confidence;
  out[offset + COLUMN.hour_sin] = Math.sin((2 * Math.PI * hourOfDay) / 24);
  out[offset + COLUMN.hour_cos] = Math.cos((2 * Math.PI * hourOfDay) / 24);
  out[offset + COLUMN.is_weekend] = weekend ? 1 : 0;
  // Clipped like the deviations: an absurd temperature from a sensor must not become Infinity in
  // the float32 matrix (and null in the alert's JSON).
  out[offset + COLUMN.air_temperature] = weatherMissing
    ? 0
    : Math.max(-90, Math.min(70, reading.airTemperature as number));
  out[offset + COLUMN.weather_missing] = weatherMissing ? 1 : 0;
  out[offset + COLUMN.log10_area] = area != null && area > 0 ? Math.log10(area) : 0;
  out[offset + COLUMN.use_type] = useTypeCode(attributes.primaryUse);

  const expected = typeCount >= 2 ? medType : dayCount >= 1 ? medDay : Number.isNaN(previous) ? null : previous;
  return { expected, confidence };
}
