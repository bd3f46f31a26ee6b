import { describe, expect, it } from 'vitest';
import { localToUtc, parseNaiveLocal, zoneOffsetMs } from '../../../sources/bdg2/local-time.js';

const utc = (local: string, zone: string) => {
  const r = localToUtc(local, zone);
  return r.kind === 'ok' ? new Date(r.utcMs).toISOString() : r.kind;
};

describe('localToUtc', () => {
  it('converts winter and summer times with the right offset', () => {
    expect(utc('2017-01-01 00:00:00', 'US/Eastern')).toBe('2017-01-01T05:00:00.000Z');
    expect(utc('2017-07-01 12:00:00', 'US/Eastern')).toBe('2017-07-01T16:00:00.000Z');
    expect(utc('2017-01-01 00:00:00', 'US/Mountain')).toBe('2017-01-01T07:00:00.000Z');
    expect(utc('2017-07-01 00:00:00', 'Europe/London')).toBe('2017-06-30T23:00:00.000Z');
  });

  it('US spring-forward: 01:00 EST, 02:00 does not exist, 03:00 EDT', () => {
    expect(utc('2017-03-12 01:00:00', 'US/Eastern')).toBe('2017-03-12T06:00:00.000Z');
    expect(utc('2017-03-12 02:00:00', 'US/Eastern')).toBe('nonexistent');
    expect(utc('2017-03-12 03:00:00', 'US/Eastern')).toBe('2017-03-12T07:00:00.000Z');
    expect(utc('2017-03-12 02:00:00', 'US/Mountain')).toBe('nonexistent');
  });

  it('US fall-back: the repeated 01:00 maps to its first (daylight-time) occurrence', () => {
    const r = localToUtc('2017-11-05 01:00:00', 'US/Eastern');
    expect(r).toEqual({ kind: 'ok', utcMs: Date.parse('2017-11-05T05:00:00Z'), ambiguous: true });
    expect(utc('2017-11-05 02:00:00', 'US/Eastern')).toBe('2017-11-05T07:00:00.000Z');
    expect(utc('2017-10-29 01:00:00', 'Europe/London')).toBe('2017-10-29T00:00:00.000Z');
  });

  it('a zone without DST never has gaps', () => {
    expect(utc('2017-03-26 01:00:00', 'UTC')).toBe('2017-03-26T01:00:00.000Z');
  });

  it('rejects malformed and impossible wall-clock times', () => {
    expect(localToUtc('2017-02-30 00:00:00', 'US/Eastern').kind).toBe('invalid');
    expect(localToUtc('2017-03-12 24:00:00', 'US/Eastern').kind).toBe('invalid');
    expect(localToUtc('12/03/2017 01:00', 'US/Eastern').kind).toBe('invalid');
    expect(parseNaiveLocal('2017-03-12T01:30')).toBe(Date.parse('2017-03-12T01:30:00Z'));
  });

  it('zoneOffsetMs reports the offset in force', () => {
    expect(zoneOffsetMs(Date.parse('2017-03-12T06:59:59Z'), 'US/Eastern')).toBe(-5 * 3_600_000);
    expect(zoneOffsetMs(Date.parse('2017-03-12T07:00:00Z'), 'US/Eastern')).toBe(-4 * 3_600_000);
  });
});
