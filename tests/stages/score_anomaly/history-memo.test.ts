import { describe, expect, it } from 'vitest';
import { computeFeatures, FEATURE_COUNT } from '../../../stages/score_anomaly/features.js';
import { type HistoryRow, HOUR_MS, MeterHistory } from '../../../stages/score_anomaly/history.js';

const START = Date.UTC(2016, 2, 1); // spans the US DST change of 13 March 2016
const attributes = { timeZone: 'US/Eastern', primaryUse: 'Office', areaSqm: 900 };

/**
 * A stream as the stage sees it: in time order with gaps, plus late readings and corrections
 * arriving after later hours (the cases that must clear the remembered medians).
 */
function stream(): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (let h = 0; h < 24 * 40; h++) {
    if (h % 37 === 5 || (h > 400 && h < 420)) continue;
    rows.push({ timeMs: START + h * HOUR_MS, value: 80 + 40 * Math.sin(h / 3.7) + ((h * 7) % 11) });
    // Corrections a day before the recent hours: their daytype medians change.
    if (h % 97 === 50) rows.push({ timeMs: START + (h - 25) * HOUR_MS, value: 999 });
    if (h % 89 === 30) rows.push({ timeMs: START + (h - 26) * HOUR_MS, value: -50 });
    if (h % 131 === 60) rows.push({ timeMs: START + (h - 20) * HOUR_MS, value: 0 }); // a late gap fill
  }
  return rows;
}

describe('MeterHistory remembered daytype medians', () => {
  it('never change a feature: a long-lived history gives what a fresh rebuild gives, reading by reading', () => {
    const rows = stream();
    const live = new MeterHistory();
    const cached = new Float32Array(FEATURE_COUNT);
    const fresh = new Float32Array(FEATURE_COUNT);
    rows.forEach((row, i) => {
      const reading = { timeMs: row.timeMs, value: row.value, airTemperature: 4 };
      const a = computeFeatures(live, reading, attributes, cached, 0);
      const b = computeFeatures(MeterHistory.fromRows(rows.slice(0, i)), reading, attributes, fresh, 0);
      expect(Array.from(cached), `reading ${i}`).toEqual(Array.from(fresh));
      expect(a).toEqual(b);
      live.record(row.timeMs, row.value);
    });
  });

  it('gives the same features when a batch is featured first and recorded after', () => {
    const rows = stream();
    const live = new MeterHistory();
    const cached = new Float32Array(FEATURE_COUNT);
    const fresh = new Float32Array(FEATURE_COUNT);
    for (let from = 0; from < rows.length; from += 7) {
      const batch = rows.slice(from, from + 7);
      const rebuilt = MeterHistory.fromRows(rows.slice(0, from));
      for (const row of batch) {
        const reading = { timeMs: row.timeMs, value: row.value };
        computeFeatures(live, reading, attributes, cached, 0);
        computeFeatures(rebuilt, reading, attributes, fresh, 0);
        expect(Array.from(cached), `batch at ${from}`).toEqual(Array.from(fresh));
      }
      for (const row of batch) live.record(row.timeMs, row.value);
    }
  });

  it('gives the same features when a meter jumps ahead by days, then its gap is filled', () => {
    // 25 days in order, silence, one reading 11 days later, then the missing days arrive late.
    const rows: HistoryRow[] = [];
    // A level shift on day 15: medians over days the window later drops differ from the rest.
    const at = (h: number) => ({ timeMs: START + h * HOUR_MS, value: h < 24 * 15 ? 1000 + h : 10 + (h % 24) });
    for (let h = 0; h < 24 * 25; h++) rows.push(at(h));
    rows.push(at(24 * 36)); // one reading, so the ring of remembered hours still holds day 24's
    for (let h = 24 * 25; h < 24 * 36; h++) rows.push(at(h));
    const live = new MeterHistory();
    const cached = new Float32Array(FEATURE_COUNT);
    const fresh = new Float32Array(FEATURE_COUNT);
    rows.forEach((row, i) => {
      const reading = { timeMs: row.timeMs, value: row.value };
      computeFeatures(live, reading, attributes, cached, 0);
      computeFeatures(MeterHistory.fromRows(rows.slice(0, i)), reading, attributes, fresh, 0);
      expect(Array.from(cached), `reading ${i}`).toEqual(Array.from(fresh));
      live.record(row.timeMs, row.value);
    });
  });

  it('forgets what a newly recorded reading may have changed: the hours after it', () => {
    const hour = START / HOUR_MS + 10;
    const history = new MeterHistory();
    history.record(hour * HOUR_MS, 1);
    history.remember(hour, 5);
    history.record((hour + 1) * HOUR_MS, 1);
    expect(history.remembered(hour)).toBe(5);
    history.remember(hour - 3, 6);
    history.record((hour - 1) * HOUR_MS, 1);
    expect(history.remembered(hour)).toBeUndefined();
    expect(history.remembered(hour - 3)).toBe(6);
    history.remember(hour + 5, 7);
    history.record((hour + 2) * HOUR_MS, 1);
    expect(history.remembered(hour + 5)).toBeUndefined();
  });
});
