import { zoneOffsetMs } from '../../sources/bdg2/local-time.js';
import { HOUR_MS } from './history.js';

/**
 * Local wall-clock offsets of a building's time zone, per UTC hour, remembered: readings arrive
 * hour after hour for many meters in few zones, so nearly every lookup is a hit. Unknown zone
 * (no metadata) means UTC: the hour-of-day pattern is then shifted, but consistently.
 */
const MAX_REMEMBERED = 100_000;
const offsetsByZone = new Map<string, Map<number, number>>();

/** Offset from UTC in whole hours at an hour number (US/Eastern in winter: -5). */
export function offsetHours(zone: string | undefined, hour: number): number {
  if (!zone) return 0;
  let offsets = offsetsByZone.get(zone);
  if (!offsets) {
    offsets = new Map();
    offsetsByZone.set(zone, offsets);
  }
  let offset = offsets.get(hour);
  if (offset === undefined) {
    if (offsets.size >= MAX_REMEMBERED) offsets.clear();
    offset = Math.round(zoneOffsetMs(hour * HOUR_MS, zone) / HOUR_MS);
    offsets.set(hour, offset);
  }
  return offset;
}

/** Local hour of day (0–23) and day of week (0 = Sunday) of an hour number. */
export function localCalendar(zone: string | undefined, hour: number): { hourOfDay: number; dayOfWeek: number } {
  const local = hour + offsetHours(zone, hour);
  const hourOfDay = ((local % 24) + 24) % 24;
  const day = Math.floor(local / 24);
  // 1970-01-01 was a Thursday (4).
  return { hourOfDay, dayOfWeek: (((day + 4) % 7) + 7) % 7 };
}

/**
 * The UTC hour number of the same local wall-clock hour `days` days earlier: 24·days hours back,
 * corrected by the change of offset in between (one hour across a DST change).
 */
export function sameLocalHourDaysBack(zone: string | undefined, hour: number, days: number): number {
  const back = hour - 24 * days;
  return back + offsetHours(zone, hour) - offsetHours(zone, back);
}
