/**
 * BDG2 timestamps are naive local wall-clock times of the site (`YYYY-MM-DD HH:MM:SS`, time zone
 * from metadata.csv, e.g. `US/Eastern`), following DST. Conversion to UTC uses the IANA rules that
 * Node's Intl ships; no library needed.
 *
 * Two wall-clock times have no single answer; our decisions:
 *  - Spring forward (e.g. 2017-03-12 02:00 in US/Eastern does not exist): `nonexistent`. BDG2 keeps
 *    the row, but every meter cell on it is empty; weather.csv has a value there. Mapping it to 03:00
 *    would collide with the real 03:00 row, so the caller drops it and counts it.
 *  - Fall back (01:00 happens twice): the FIRST occurrence (the earlier instant, still on daylight
 *    time), like java.time / Temporal's "earlier". BDG2 has one row per wall-clock hour, so only one
 *    of the two real hours is represented; the other stays a gap.
 */
import { remember } from '../../domain/remember.js';

export type LocalToUtc =
  | { readonly kind: 'ok'; readonly utcMs: number; readonly ambiguous: boolean }
  | { readonly kind: 'nonexistent' }
  | { readonly kind: 'invalid'; readonly reason: string };

const LOCAL_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Offset of `timeZone` from UTC at instant `utcMs`, in ms (US/Eastern in winter: -5 h). */
export function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(utcMs));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  // Intl drops sub-second precision; compare at whole seconds.
  return wall - Math.floor(utcMs / 1000) * 1000;
}

/** Parses `YYYY-MM-DD HH:MM[:SS]` as a wall-clock time; returns its fields as if it were UTC. */
export function parseNaiveLocal(local: string): number | undefined {
  const m = LOCAL_PATTERN.exec(local);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v))) as number[];
  const ms = Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 1, hour ?? 0, minute ?? 0, second ?? 0);
  const d = new Date(ms);
  // Rejects 2017-02-30 and 25:00, which Date.UTC would silently roll over.
  if (
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() + 1 !== month ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour
  ) {
    return undefined;
  }
  return ms;
}

/**
 * zoneOffsetMs remembered per (instant, zone). Converting hour after hour asks for each instant up
 * to three times: as the probe a day after one hour, as another hour's check, and as the probe a
 * day before a third; each answer costs an Intl formatToParts.
 */
const rememberedOffset = remember((key: string): number => {
  const at = key.indexOf('@');
  return zoneOffsetMs(Number(key.slice(0, at)), key.slice(at + 1));
});
const offsetAt = (utcMs: number, timeZone: string): number => rememberedOffset(`${utcMs}@${timeZone}`);

export function localToUtc(local: string, timeZone: string): LocalToUtc {
  const wall = parseNaiveLocal(local);
  if (wall === undefined) return { kind: 'invalid', reason: `"${local}" is not a YYYY-MM-DD HH:MM:SS time` };
  // A zone changes its offset at most once within a day either side, so the offsets in force a day
  // before and a day after are the only candidates; a candidate is right if it maps back to itself.
  const candidates = new Set([offsetAt(wall - DAY_MS, timeZone), offsetAt(wall + DAY_MS, timeZone)]);
  const instants = [...candidates]
    .map((offset) => wall - offset)
    .filter((utc) => offsetAt(utc, timeZone) === wall - utc);
  if (instants.length === 0) return { kind: 'nonexistent' };
  return { kind: 'ok', utcMs: Math.min(...instants), ambiguous: instants.length > 1 };
}
