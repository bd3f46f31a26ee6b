import { describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../../stages/score_anomaly/history.js';
import { localCalendar, sameLocalHourDaysBack } from '../../../stages/score_anomaly/local-clock.js';

/** The UTC instant of a local wall-clock time in a zone, found by asking Intl (no offset table of ours). */
function utcOf(zone: string, y: number, m: number, d: number, hour: number): number {
  const guess = Date.UTC(y, m - 1, d, hour);
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(new Date(guess));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const shown = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  return guess - (shown - guess);
}

describe('local clock in zones whose offset is not a whole hour', () => {
  // BDG2 has no such site, but a user's buildings may: India +5:30, Nepal +5:45, Newfoundland
  // −3:30 (DST −2:30), South Australia +9:30 (DST +10:30). Hourly readings fall on the local hour.
  it.each([
    ['Asia/Kolkata', 2016, 7, 4],
    ['Asia/Kathmandu', 2016, 7, 4],
    ['America/St_Johns', 2016, 1, 13],
    ['America/St_Johns', 2016, 7, 13],
    ['Australia/Adelaide', 2016, 1, 11],
    ['Australia/Adelaide', 2016, 7, 11],
  ])('%s: every local hour of %i-%i-%i reads as itself, on the right weekday', (zone, y, m, d) => {
    const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
    for (let local = 0; local < 24; local++) {
      const hour = Math.floor(utcOf(zone, y, m, d, local) / HOUR_MS);
      expect(localCalendar(zone, hour), `${zone} ${local}:00`).toEqual({ hourOfDay: local, dayOfWeek: weekday });
    }
  });

  it('finds the same local hour a day back across a DST change of a half-hour zone', () => {
    // Adelaide moved from +10:30 to +9:30 on 3 April 2016 at 03:00 local.
    const after = Math.floor(utcOf('Australia/Adelaide', 2016, 4, 3, 12) / HOUR_MS);
    const before = Math.floor(utcOf('Australia/Adelaide', 2016, 4, 2, 12) / HOUR_MS);
    expect(after - before).toBe(25);
    expect(sameLocalHourDaysBack('Australia/Adelaide', after, 1)).toBe(before);
  });
});
