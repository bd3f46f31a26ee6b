/**
 * Local calendar days of a building: the hours of a day are those between two local midnights, so
 * a spring-forward day has 23 and a fall-back day 25. A meter's readings are gathered per local day
 * (`DayAccumulator`) until the day is closed on event time (stage.ts).
 */
import { remember } from '../../domain/remember.js';
import { localToUtc, zoneOffsetMs } from '../../sources/bdg2/local-time.js';

export const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface LocalDay {
  /** Local date `YYYY-MM-DD`. */
  readonly date: string;
  /** UTC instant of the local midnight that starts it. */
  readonly startMs: number;
  /** UTC instant of the next local midnight (exclusive end). */
  readonly endMs: number;
  /** Hours in the day: 24, or 23 / 25 on DST changes. */
  readonly hours: number;
}

const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** UTC instant of local midnight of `date`; where midnight does not exist (DST at 00:00) the first hour after it. */
function midnightUtc(date: string, zone: string | undefined): number {
  const naive = Date.parse(`${date}T00:00:00Z`);
  if (!zone) return naive;
  for (let h = 0; h < 3; h++) {
    const r = localToUtc(`${date} 0${h}:00:00`, zone);
    if (r.kind === 'ok') return r.utcMs - h * HOUR_MS;
  }
  return naive - zoneOffsetMs(naive, zone);
}

const dayByDate = remember((key: string): LocalDay => {
  const [zone, date] = key.split('\u0000') as [string, string];
  const z = zone === '' ? undefined : zone;
  const startMs = midnightUtc(date, z);
  const endMs = midnightUtc(isoDate(Date.parse(`${date}T00:00:00Z`) + DAY_MS), z);
  return { date, startMs, endMs, hours: Math.round((endMs - startMs) / HOUR_MS) };
}, 100_000);

/** Offset of the zone from UTC at an instant, in ms (0 for an unknown zone: UTC days). */
export const offsetMs = (zone: string | undefined, utcMs: number): number => (zone ? zoneOffsetMs(utcMs, zone) : 0);

/** The local day an instant belongs to. */
export function localDayOf(zone: string | undefined, utcMs: number): LocalDay {
  return localDay(zone, isoDate(utcMs + offsetMs(zone, utcMs)));
}

export function localDay(zone: string | undefined, date: string): LocalDay {
  return dayByDate(`${zone ?? ''}\u0000${date}`);
}

/** Local hour of day (0–23) of an instant: on a fall-back day two instants share hour 1. */
export function localHourOf(zone: string | undefined, utcMs: number): number {
  const local = utcMs + offsetMs(zone, utcMs);
  return Math.floor((((local % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS);
}

export interface HourWeather {
  readonly airTemperature: number | null;
  readonly dewTemperature: number | null;
}

/** One meter's readings of one local day, keyed by UTC hour: a reading sent again replaces itself. */
export class DayAccumulator {
  readonly values = new Map<number, number>();
  readonly weather = new Map<number, HourWeather>();
  /** Largest event time seen for the day (for the log and the rebuilt watermark). */
  maxEventMs = Number.NEGATIVE_INFINITY;
  /** Set when the day's vector (or its skip) was written; a later reading re-opens it for an upsert. */
  closed = false;
  /** Set when the day was skipped for missing hours at its last close. */
  skipped = false;

  constructor(readonly day: LocalDay) {}

  /** Adds a reading; false when it changes nothing (the same value again: a replay). */
  add(hourMs: number, value: number, weather?: HourWeather): boolean {
    if (this.values.get(hourMs) === value) return false;
    this.values.set(hourMs, value);
    if (weather) this.weather.set(hourMs, weather);
    if (hourMs > this.maxEventMs) this.maxEventMs = hourMs;
    return true;
  }

  get missingHours(): number {
    return Math.max(0, this.day.hours - this.values.size);
  }
}
