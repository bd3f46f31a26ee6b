/**
 * A meter's recent readings, one slot per UTC hour, in a ring buffer: the partition-owned state the
 * anomaly features read. Missing hours read as NaN. It keeps HISTORY_HOURS hours before the newest
 * reading, enough for the hour-of-week medians (four weeks) plus a day of slack, and can be rebuilt
 * from stored (time, value) rows, so a restart or rebalance does not leave a meter cold.
 *
 * Each slot remembers which hour it holds, so a write changes one slot only and can be undone
 * exactly (HistoryJournal): a batch handed in again sees the history it saw the first time.
 */
export const HOUR_MS = 3_600_000;
export const HISTORY_HOURS = 29 * 24;
/** The hour of a slot that holds none. */
const NO_HOUR = -2_147_483_648;

/** A stored reading: its hour (ms since epoch, UTC) and value. */
export interface HistoryRow {
  readonly timeMs: number;
  readonly value: number;
}

/** How many recent hours' daytype medians are remembered (features read the past 5). */
const REMEMBERED_MEDIANS = 8;

/** Told what a write is about to replace, so that it can be put back (HistoryJournal). */
export interface HistoryUndo {
  replacing(history: MeterHistory, slot: number, value: number, hour: number, latestMs: number): void;
}

export class MeterHistory {
  private readonly values = new Float64Array(HISTORY_HOURS).fill(Number.NaN);
  private readonly hours = new Int32Array(HISTORY_HOURS).fill(NO_HOUR);
  /** Time of the newest reading held, ms since epoch, and its hour number; -Infinity when empty. */
  private latest = Number.NEGATIVE_INFINITY;
  private newest = Number.NEGATIVE_INFINITY;
  /**
   * A cache of a statistic per recent hour that depends only on the readings before that hour
   * (the daytype median): the features of the next hours read it again. A reading recorded at an
   * hour drops what is cached for the hours after it, whose readings before them it changes.
   */
  private readonly medianHours = new Float64Array(REMEMBERED_MEDIANS).fill(Number.NaN);
  private readonly medianValues = new Float64Array(REMEMBERED_MEDIANS);

  static fromRows(rows: Iterable<HistoryRow>): MeterHistory {
    const history = new MeterHistory();
    for (const row of rows) history.record(row.timeMs, row.value);
    return history;
  }

  /** The newest hour held (hour number), or undefined when empty. */
  get newestHour(): number | undefined {
    return Number.isFinite(this.newest) ? this.newest : undefined;
  }

  /** Time of the newest reading held (ms since epoch), or undefined when empty. */
  get newestTime(): number | undefined {
    return Number.isFinite(this.latest) ? this.latest : undefined;
  }

  /**
   * Stores a reading. A later hour advances the window (hours in between read as missing); an
   * earlier hour still inside the window replaces that slot (a correction); an hour older than the
   * window is ignored. A non-finite value is stored as missing.
   */
  record(timeMs: number, value: number, undo?: HistoryUndo): void {
    const hour = Math.floor(timeMs / HOUR_MS);
    if (hour <= this.newest - HISTORY_HOURS) return;
    const slot = this.index(hour);
    undo?.replacing(this, slot, this.values[slot] as number, this.hours[slot] as number, this.latest);
    this.values[slot] = Number.isFinite(value) ? value : Number.NaN;
    this.hours[slot] = hour;
    if (timeMs > this.latest) {
      this.latest = timeMs;
      this.newest = hour;
    }
    // Drop what the write may change (hours after it) and what the window has moved past (a
    // median of hours now outside the window would differ from a rebuild's).
    const oldest = this.newest - REMEMBERED_MEDIANS;
    for (let i = 0; i < REMEMBERED_MEDIANS; i++) {
      const cached = this.medianHours[i] as number;
      if (cached > hour || cached < oldest) this.medianHours[i] = Number.NaN;
    }
  }

  /** Puts back what a write replaced (the arguments HistoryUndo was given). */
  restore(slot: number, value: number, hour: number, latestMs: number): void {
    this.values[slot] = value;
    this.hours[slot] = hour;
    this.latest = latestMs;
    this.newest = Number.isFinite(latestMs) ? Math.floor(latestMs / HOUR_MS) : Number.NEGATIVE_INFINITY;
    // Undoing is rare (a batch handed in again): forget every cached statistic rather than work out which.
    this.medianHours.fill(Number.NaN);
  }

  /** The cached statistic of an hour (see `remember`), or undefined. */
  remembered(hour: number): number | undefined {
    const i = ((hour % REMEMBERED_MEDIANS) + REMEMBERED_MEDIANS) % REMEMBERED_MEDIANS;
    return this.medianHours[i] === hour ? this.medianValues[i] : undefined;
  }

  /** Caches a statistic of `hour` computed from the readings before it only. */
  remember(hour: number, value: number): void {
    const i = ((hour % REMEMBERED_MEDIANS) + REMEMBERED_MEDIANS) % REMEMBERED_MEDIANS;
    this.medianHours[i] = hour;
    this.medianValues[i] = value;
  }

  /**
   * The value at an hour number, NaN when missing or outside the window. Only hours strictly before
   * `before` are visible, so a feature computed for hour `before` cannot see it or anything later.
   */
  at(hour: number, before: number): number {
    if (hour >= before || hour > this.newest || hour <= this.newest - HISTORY_HOURS) return Number.NaN;
    const slot = this.index(hour);
    return this.hours[slot] === hour ? (this.values[slot] as number) : Number.NaN;
  }

  private index(hour: number): number {
    return ((hour % HISTORY_HOURS) + HISTORY_HOURS) % HISTORY_HOURS;
  }
}
