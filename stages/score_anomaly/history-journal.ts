/**
 * Undo log of one partition's history writes, by the input offset of the record that made them.
 *
 * The runner hands a partition's records in again after a failure: a transient error or an ONNX
 * failure (the call threw), a produce that was not acknowledged or a later chain step that failed
 * (the call had returned), or one record at a time after a batch failed. A re-run starts at an
 * offset this partition already recorded; undoing every write from that offset on gives back the
 * history the first attempt saw, so the re-run's scores are the first attempt's. Which of the two
 * happens (outputs delivered or not) is not known here, hence undo on re-entry rather than "record
 * once final".
 *
 * A re-run never reaches back further than the fetched batch being delivered; the log keeps the
 * writes of the last JOURNAL_CAPACITY records (40 bytes each, 1.3 MB per partition when full),
 * several times what a fetch holds (1 MiB by default, an enriched reading is about 600 bytes).
 */
import type { HistoryUndo, MeterHistory } from './history.js';

export const JOURNAL_CAPACITY = 32_768;
const INITIAL = 1_024;

export class HistoryJournal implements HistoryUndo {
  private offsets: Float64Array;
  private values: Float64Array;
  private latest: Float64Array;
  private hours: Int32Array;
  private slots: Int32Array;
  private histories: (MeterHistory | undefined)[];
  /** Ring: the oldest entry's index, and how many there are. */
  private start = 0;
  private size = 0;
  /** Highest offset whose writes were dropped for room; a rewind to it or before cannot be exact. */
  private dropped = Number.NEGATIVE_INFINITY;
  /** Offset of the record being written (see `record`). */
  private current = 0;

  constructor(private readonly capacity = JOURNAL_CAPACITY) {
    const length = Math.max(1, Math.min(INITIAL, capacity));
    this.offsets = new Float64Array(length);
    this.values = new Float64Array(length);
    this.latest = new Float64Array(length);
    this.hours = new Int32Array(length);
    this.slots = new Int32Array(length);
    this.histories = new Array(length);
  }

  /** Records a reading of the record at `offset` into `history`, keeping what it replaces. */
  record(offset: number, history: MeterHistory, timeMs: number, value: number): void {
    this.current = offset;
    history.record(timeMs, value, this);
  }

  /** HistoryUndo: called by `history.record` before it writes. */
  replacing(history: MeterHistory, slot: number, value: number, hour: number, latestMs: number): void {
    if (this.size === this.offsets.length && !this.grow()) {
      this.dropped = Math.max(this.dropped, this.offsets[this.start] as number);
      this.histories[this.start] = undefined;
      this.start = (this.start + 1) % this.offsets.length;
      this.size--;
    }
    const i = (this.start + this.size) % this.offsets.length;
    this.offsets[i] = this.current;
    this.histories[i] = history;
    this.slots[i] = slot;
    this.values[i] = value;
    this.hours[i] = hour;
    this.latest[i] = latestMs;
    this.size++;
  }

  /**
   * Undoes the writes of the records at `offset` and after, newest first. False when some of them
   * had already been dropped for room (the history then still holds those).
   */
  rewind(offset: number): boolean {
    while (this.size > 0) {
      const i = (this.start + this.size - 1) % this.offsets.length;
      if ((this.offsets[i] as number) < offset) break;
      (this.histories[i] as MeterHistory).restore(
        this.slots[i] as number,
        this.values[i] as number,
        this.hours[i] as number,
        this.latest[i] as number,
      );
      this.histories[i] = undefined;
      this.size--;
    }
    return offset > this.dropped;
  }

  /** Entries held (tests). */
  get length(): number {
    return this.size;
  }

  /** Doubles the ring up to the capacity; false when it is at the capacity already. */
  private grow(): boolean {
    const length = this.offsets.length;
    if (length >= this.capacity) return false;
    const next = Math.min(this.capacity, length * 2);
    const order = (i: number) => (this.start + i) % length;
    const copy = <T extends Float64Array | Int32Array>(from: T, to: T): T => {
      for (let i = 0; i < this.size; i++) to[i] = from[order(i)] as number;
      return to;
    };
    this.offsets = copy(this.offsets, new Float64Array(next));
    this.values = copy(this.values, new Float64Array(next));
    this.latest = copy(this.latest, new Float64Array(next));
    this.hours = copy(this.hours, new Int32Array(next));
    this.slots = copy(this.slots, new Int32Array(next));
    const histories: (MeterHistory | undefined)[] = new Array(next);
    for (let i = 0; i < this.size; i++) histories[i] = this.histories[order(i)];
    this.histories = histories;
    this.start = 0;
    return true;
  }
}
