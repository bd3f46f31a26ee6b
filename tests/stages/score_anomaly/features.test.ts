import { describe, expect, it } from 'vitest';
import {
  COLUMN,
  computeFeatures,
  FEATURE_COUNT,
  FEATURE_NAMES,
  type ReadingInput,
} from '../../../stages/score_anomaly/features.js';
import { HISTORY_HOURS, HOUR_MS, MeterHistory } from '../../../stages/score_anomaly/history.js';
import { localCalendar, sameLocalHourDaysBack } from '../../../stages/score_anomaly/local-clock.js';
import { featuresOfSeries } from '../../../stages/score_anomaly/series.js';

const col = (name: (typeof FEATURE_NAMES)[number]) => FEATURE_NAMES.indexOf(name);
const row = (matrix: Float32Array, i: number) =>
  Array.from(matrix.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT));

/** Hourly readings from `startMs`, a weekday-daytime bump on a base load, deterministic. */
function series(
  startMs: number,
  hours: number,
  valueAt = (h: number) => 100 + (h % 24 >= 8 && h % 24 < 18 ? 50 : 0) + (h % 7),
) {
  return Array.from({ length: hours }, (_, h): ReadingInput => ({ timeMs: startMs + h * HOUR_MS, value: valueAt(h) }));
}
const JAN = Date.UTC(2016, 0, 4);

describe('score_anomaly features', () => {
  it('are causal: changing future readings changes no earlier row', () => {
    const base = series(JAN, 24 * 30);
    const cut = 24 * 20;
    const changed = base.map((r, i) => (i > cut ? { ...r, value: i % 3 === 0 ? 0 : r.value * 7 } : r));
    const withGap = base.filter((_, i) => i <= cut || i % 5 !== 0);
    const a = featuresOfSeries(base, { timeZone: 'Europe/London' });
    const b = featuresOfSeries(changed, { timeZone: 'Europe/London' });
    const c = featuresOfSeries(withGap, { timeZone: 'Europe/London' });
    for (let i = 0; i <= cut; i++) {
      expect(row(b.matrix, i)).toEqual(row(a.matrix, i));
      expect(row(c.matrix, i)).toEqual(row(a.matrix, i));
      expect(b.expected[i]).toEqual(a.expected[i]);
    }
    expect(row(b.matrix, cut + 3)).not.toEqual(row(a.matrix, cut + 3));
  });

  it('a late reading sees only hours before its own, even when later ones are held', () => {
    const rows = series(JAN, 24 * 10);
    const history = MeterHistory.fromRows(rows);
    const late = rows[24 * 9] as ReadingInput;
    const outLate = new Float32Array(FEATURE_COUNT);
    computeFeatures(history, late, {}, outLate, 0);
    const outStream = featuresOfSeries(rows.slice(0, 24 * 9 + 1), {}).matrix;
    expect(Array.from(outLate)).toEqual(row(outStream, 24 * 9));
  });

  it('cold start: finite features, no expected value, confidence 0, rising with history', () => {
    const { matrix, expected, confidence } = featuresOfSeries(series(JAN, 24 * 8), {});
    expect(matrix.every(Number.isFinite)).toBe(true);
    expect(Number.isNaN(expected[0])).toBe(true);
    expect(confidence[0]).toBe(0);
    expect(matrix[col('confidence')]).toBe(0);
    expect(confidence[24]).toBeCloseTo(24 / 168);
    expect(confidence[24 * 7 + 1]).toBe(1);
    expect(Number.isNaN(expected[25])).toBe(false); // a number once a day is known
  });

  it('gaps: hours since the previous reading and the missing share of the last day', () => {
    const rows = series(JAN, 24 * 8).filter((_, i) => i < 24 * 7 || i >= 24 * 7 + 5);
    const { matrix } = featuresOfSeries(rows, {});
    const first = 24 * 7; // the first reading after five missing hours
    expect(matrix[first * FEATURE_COUNT + col('gap_hours')]).toBeCloseTo(Math.log1p(5));
    expect(matrix[first * FEATURE_COUNT + col('missing_24h')]).toBeCloseTo(5 / 24);
    expect(matrix[(first + 1) * FEATURE_COUNT + col('gap_hours')]).toBe(0);
  });

  it('a gap longer than the history window starts the meter cold again', () => {
    const rows = [...series(JAN, 24 * 3), ...series(JAN + (HISTORY_HOURS + 24 * 3) * HOUR_MS, 2)];
    const { confidence, expected } = featuresOfSeries(rows, {});
    expect(confidence[24 * 3]).toBe(0);
    expect(Number.isNaN(expected[24 * 3])).toBe(true);
  });

  it('runs: repeated values and zeros are counted', () => {
    const rows = series(JAN, 24 * 8, (h) => (h >= 24 * 7 ? 0 : h >= 24 * 6 ? 42 : 100 + (h % 24)));
    const { matrix } = featuresOfSeries(rows, {});
    const at = (i: number, name: (typeof FEATURE_NAMES)[number]) => matrix[i * FEATURE_COUNT + col(name)];
    expect(at(24 * 6 + 10, 'repeat_run')).toBeCloseTo(Math.log1p(10));
    expect(at(24 * 7 + 4, 'zero_run')).toBeCloseTo(Math.log1p(5));
    expect(at(24 * 7 + 4, 'is_zero')).toBe(1);
    expect(at(24 * 7 + 4, 'ratio_level')).toBe(0);
  });

  it('DST: the same local hour a day back is 23 or 25 UTC hours away across a change', () => {
    const zone = 'US/Eastern';
    const hour = (iso: string) => Date.parse(iso) / HOUR_MS;
    // 2017-03-13 12:00 EDT = 16:00Z; 2017-03-12 12:00 EDT = 16:00Z (after the 02:00 change); 03-11 12:00 EST = 17:00Z.
    expect(sameLocalHourDaysBack(zone, hour('2017-03-13T16:00:00Z'), 1)).toBe(hour('2017-03-12T16:00:00Z'));
    expect(sameLocalHourDaysBack(zone, hour('2017-03-13T16:00:00Z'), 2)).toBe(hour('2017-03-11T17:00:00Z'));
    expect(localCalendar(zone, hour('2017-03-13T16:00:00Z'))).toEqual({ hourOfDay: 12, dayOfWeek: 1 });
    expect(localCalendar(zone, hour('2017-03-11T17:00:00Z'))).toEqual({ hourOfDay: 12, dayOfWeek: 6 });
    expect(localCalendar(undefined, hour('2017-03-11T17:00:00Z'))).toEqual({ hourOfDay: 17, dayOfWeek: 6 });
  });

  it('DST: a load that follows the local clock shows no deviation after the change', () => {
    const zone = 'US/Eastern';
    const start = Date.UTC(2017, 1, 20, 5); // local midnight, 2017-02-20 EST
    const rows = Array.from({ length: 24 * 30 }, (_, h): ReadingInput => {
      const timeMs = start + h * HOUR_MS;
      const local = localCalendar(zone, timeMs / HOUR_MS).hourOfDay;
      return { timeMs, value: 100 + 10 * local };
    });
    const { matrix, expected } = featuresOfSeries(rows, { timeZone: zone });
    const afterChange = rows.findIndex((r) => r.timeMs >= Date.UTC(2017, 2, 13, 4)); // 2017-03-13 local midnight
    for (let i = afterChange; i < afterChange + 48; i++) {
      expect(matrix[i * FEATURE_COUNT + col('dev_day')]).toBe(0);
      expect(matrix[i * FEATURE_COUNT + col('dev_week')]).toBe(0);
      expect(expected[i]).toBe(rows[i]?.value);
    }
    // Read as UTC, the same load is off by an hour after the change.
    const utc = featuresOfSeries(rows, {}).matrix;
    expect(utc[(afterChange + 12) * FEATURE_COUNT + col('dev_day')]).not.toBe(0);
  });

  it('a history rebuilt from stored rows gives the features of an uninterrupted stream', () => {
    const rows = series(JAN, 24 * 35).filter((_, i) => i % 11 !== 0);
    const split = 24 * 30;
    const streamed = featuresOfSeries(rows, {}).matrix;
    const rebuilt = featuresOfSeries(rows.slice(split), {}, MeterHistory.fromRows(rows.slice(0, split))).matrix;
    expect(Array.from(rebuilt)).toEqual(Array.from(streamed.subarray(split * FEATURE_COUNT)));
  });

  it('weather and static attributes: missing is a normal input', () => {
    const out = new Float32Array(FEATURE_COUNT);
    computeFeatures(
      new MeterHistory(),
      { timeMs: JAN, value: 5, airTemperature: null, weatherMissing: true },
      {},
      out,
      0,
    );
    expect(out[col('weather_missing')]).toBe(1);
    expect(out[col('log10_area')]).toBe(0);
    expect(out[col('use_type')]).toBe(0);
    computeFeatures(
      new MeterHistory(),
      { timeMs: JAN, value: 5, airTemperature: 7.5, weatherMissing: false },
      { primaryUse: 'Education', areaSqm: 1000 },
      out,
      0,
    );
    expect(out[col('weather_missing')]).toBe(0);
    expect(out[col('air_temperature')]).toBe(7.5);
    expect(out[col('log10_area')]).toBe(3);
    expect(out[col('use_type')]).toBe(1);
  });
});

describe('feature columns', () => {
  it('COLUMN gives each feature its position in FEATURE_NAMES (the ONNX contract order)', () => {
    expect(Object.keys(COLUMN)).toEqual([...FEATURE_NAMES]);
    expect(FEATURE_NAMES.map((name) => COLUMN[name])).toEqual(FEATURE_NAMES.map((_, i) => i));
  });
});
