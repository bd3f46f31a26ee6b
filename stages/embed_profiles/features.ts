/**
 * The encoder's input for one local day of one meter (models/profile/MODEL_CARD.md): the day's
 * shape over 24 local hours divided by its mean, its level, calendar and weather. NaN marks
 * weather that was not observed; the encoder replaces it by the training mean.
 */
import { type HourWeather, type LocalDay, localHourOf } from './day.js';

export const SHAPE_HOURS = 24;
const CONTEXT_FEATURES = [
  'log_level',
  'log_intensity',
  'variation',
  'dow_sin',
  'dow_cos',
  'weekend',
  'doy_sin',
  'doy_cos',
  'temp_mean',
  'temp_range',
  'dew_mean',
] as const;
export const FEATURE_NAMES: readonly string[] = [
  ...Array.from({ length: SHAPE_HOURS }, (_, h) => `shape_h${String(h).padStart(2, '0')}`),
  ...CONTEXT_FEATURES,
];
export const FEATURE_COUNT = FEATURE_NAMES.length;
const F = Object.fromEntries(CONTEXT_FEATURES.map((n, i) => [n, SHAPE_HOURS + i])) as {
  readonly [K in (typeof CONTEXT_FEATURES)[number]]: number;
};

const SHAPE_LIMIT = 10;
const clip = (x: number, limit: number): number => Math.max(-limit, Math.min(limit, x));

export interface DayInput {
  readonly zone: string | undefined;
  readonly day: LocalDay;
  /** [UTC hour, value] pairs of the day (any order). */
  readonly values: Iterable<readonly [number, number]>;
  readonly weather?: Iterable<HourWeather>;
  /** Floor area of the building in m² (catalog), when known: the level per m² says more about its use. */
  readonly floorAreaSqm?: number | null;
}

/**
 * Hourly values in 24 local-hour slots: a fall-back day's two 01:00 hours are averaged, an hour
 * without a reading (or the spring-forward hour that does not exist) is interpolated linearly
 * from its neighbours in the day (held at the ends).
 */
export function localHourSlots(zone: string | undefined, values: Iterable<readonly [number, number]>): number[] {
  const sum = new Array<number>(SHAPE_HOURS).fill(0);
  const count = new Array<number>(SHAPE_HOURS).fill(0);
  for (const [hourMs, value] of values) {
    const h = localHourOf(zone, hourMs);
    sum[h] = (sum[h] ?? 0) + value;
    count[h] = (count[h] ?? 0) + 1;
  }
  const known = sum.map((s, h) => ((count[h] ?? 0) > 0 ? s / (count[h] ?? 1) : Number.NaN));
  const present = known.flatMap((v, h) => (Number.isNaN(v) ? [] : [h]));
  if (present.length === 0) return new Array<number>(SHAPE_HOURS).fill(0);
  return known.map((v, h) => {
    if (!Number.isNaN(v)) return v;
    const before = present.filter((p) => p < h).pop();
    const after = present.find((p) => p > h);
    if (before === undefined) return known[after as number] as number;
    if (after === undefined) return known[before] as number;
    const a = known[before] as number;
    const b = known[after] as number;
    return a + ((b - a) * (h - before)) / (after - before);
  });
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : Number.NaN);

/** The FEATURE_COUNT features of one day, in FEATURE_NAMES order. */
export function dayFeatures(input: DayInput, out = new Float32Array(FEATURE_COUNT)): Float32Array {
  const slots = localHourSlots(input.zone, input.values);
  const level = mean(slots);
  const flat = !(Math.abs(level) > 1e-9);
  for (let h = 0; h < SHAPE_HOURS; h++) out[h] = flat ? 1 : clip((slots[h] as number) / level, SHAPE_LIMIT);
  out[F.log_level] = Math.log1p(Math.max(0, level));
  const area = input.floorAreaSqm;
  // Wh per m² per hour; NaN (the training mean) when the area is not known.
  out[F.log_intensity] = area && area > 0 ? Math.log1p((1000 * Math.max(0, level)) / area) : Number.NaN;
  const sd = Math.sqrt(mean(slots.map((v) => (v - level) ** 2)));
  out[F.variation] = flat ? 0 : clip(sd / Math.abs(level), SHAPE_LIMIT);

  const dateMs = Date.parse(`${input.day.date}T00:00:00Z`);
  const dow = new Date(dateMs).getUTCDay();
  const yearStart = Date.UTC(new Date(dateMs).getUTCFullYear(), 0, 1);
  const doy = (dateMs - yearStart) / 86_400_000;
  out[F.dow_sin] = Math.sin((2 * Math.PI * dow) / 7);
  out[F.dow_cos] = Math.cos((2 * Math.PI * dow) / 7);
  out[F.weekend] = dow === 0 || dow === 6 ? 1 : 0;
  out[F.doy_sin] = Math.sin((2 * Math.PI * doy) / 365.25);
  out[F.doy_cos] = Math.cos((2 * Math.PI * doy) / 365.25);

  const w = weatherSummary(input.weather ?? []);
  out[F.temp_mean] = w.tempMean ?? Number.NaN;
  out[F.temp_range] = w.tempMax !== null && w.tempMin !== null ? w.tempMax - w.tempMin : Number.NaN;
  out[F.dew_mean] = w.dewMean ?? Number.NaN;
  return out;
}

export interface WeatherSummary {
  readonly tempMean: number | null;
  readonly tempMin: number | null;
  readonly tempMax: number | null;
  readonly dewMean: number | null;
  /** Hours with an air temperature. */
  readonly hours: number;
}

export function weatherSummary(hours: Iterable<HourWeather>): WeatherSummary {
  const temps: number[] = [];
  const dews: number[] = [];
  for (const h of hours) {
    if (h.airTemperature !== null && Number.isFinite(h.airTemperature)) temps.push(h.airTemperature);
    if (h.dewTemperature !== null && Number.isFinite(h.dewTemperature)) dews.push(h.dewTemperature);
  }
  return {
    tempMean: temps.length ? mean(temps) : null,
    tempMin: temps.length ? Math.min(...temps) : null,
    tempMax: temps.length ? Math.max(...temps) : null,
    dewMean: dews.length ? mean(dews) : null,
    hours: temps.length,
  };
}
