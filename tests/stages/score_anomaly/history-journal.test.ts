import { describe, expect, it } from 'vitest';
import { HISTORY_HOURS, type HistoryRow, HOUR_MS, MeterHistory } from '../../../stages/score_anomaly/history.js';
import { HistoryJournal } from '../../../stages/score_anomaly/history-journal.js';

const T0 = Date.UTC(2017, 0, 1);

/** Readings in arrival order: mostly hour after hour, with corrections, late ones, gaps and jumps past the window. */
function arrivals(n: number): HistoryRow[] {
  const rows: HistoryRow[] = [];
  let hour = 0;
  for (let i = 0; i < n; i++) {
    if (i % 97 === 0)
      hour += HISTORY_HOURS + 5; // a jump: the whole window moves on
    else if (i % 13 === 0)
      hour += 30; // a gap
    else hour += 1;
    const late = i % 11 === 0 ? hour - 1 - (i % 40) : hour; // a correction or a late reading
    rows.push({ timeMs: T0 + late * HOUR_MS + (i % 3) * 60_000, value: i % 17 === 0 ? Number.NaN : i * 1.5 });
  }
  return rows;
}

/** Records `rows` through the journal, the first at offset `from`. */
function feed(journal: HistoryJournal, history: MeterHistory, rows: readonly HistoryRow[], from = 0): void {
  for (const [i, r] of rows.entries()) journal.record(from + i, history, r.timeMs, r.value);
}

/** Everything a feature can read of a history, so two histories can be compared. */
function contents(h: MeterHistory): unknown {
  const newest = h.newestHour ?? 0;
  const values: number[] = [];
  for (let hour = newest - HISTORY_HOURS - 2; hour <= newest + 2; hour++) values.push(h.at(hour, newest + 10));
  return { newestTime: h.newestTime, values: values.map((v) => (Number.isNaN(v) ? 'NaN' : v)) };
}

describe('HistoryJournal', () => {
  it('rewinding to an offset gives back exactly the history of the records before it', () => {
    const rows = arrivals(3_000);
    for (const cut of [0, 1, 500, 1_024, 1_025, 2_999]) {
      const journal = new HistoryJournal();
      const history = new MeterHistory();
      feed(journal, history, rows);
      expect(journal.rewind(cut)).toBe(true);
      expect(contents(history), `cut ${cut}`).toEqual(contents(MeterHistory.fromRows(rows.slice(0, cut))));
      // What was undone can be recorded again: the re-run ends where the first attempt ended.
      feed(journal, history, rows.slice(cut), cut);
      expect(contents(history)).toEqual(contents(MeterHistory.fromRows(rows)));
    }
  });

  it('keeps the undo of its last `capacity` writes and says when a rewind reaches past them', () => {
    const rows = arrivals(100);
    const journal = new HistoryJournal(32);
    const history = new MeterHistory();
    feed(journal, history, rows);
    expect(journal.length).toBe(32);
    expect(journal.rewind(80)).toBe(true);
    expect(contents(history)).toEqual(contents(MeterHistory.fromRows(rows.slice(0, 80))));
    expect(journal.rewind(50)).toBe(false);
  });

  it('undoes the writes of several meters of a partition, newest first', () => {
    const journal = new HistoryJournal();
    const a = new MeterHistory();
    const b = MeterHistory.fromRows([{ timeMs: T0, value: 7 }]);
    journal.record(10, a, T0 + HOUR_MS, 1);
    journal.record(11, b, T0, 8); // a correction of b's hour
    journal.record(12, a, T0 + HOUR_MS, 2); // and of a's
    journal.rewind(11);
    expect(a.at(1 + T0 / HOUR_MS, Number.POSITIVE_INFINITY)).toBe(1);
    expect(b.at(T0 / HOUR_MS, Number.POSITIVE_INFINITY)).toBe(7);
    journal.rewind(0);
    expect(a.newestTime).toBeUndefined();
    expect(a.at(1 + T0 / HOUR_MS, Number.POSITIVE_INFINITY)).toBeNaN();
  });
});
