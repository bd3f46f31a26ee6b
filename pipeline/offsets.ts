/** Kafka offsets are decimal strings without leading zeros: the longer one is larger, else the text decides. */
export const offsetAfter = (a: string, b: string): boolean => a.length > b.length || (a.length === b.length && a > b);

/**
 * Per-partition watermark of finished work. An offset is "finished" once every output and dead
 * letter it caused has been acknowledged by the broker; only the contiguous finished prefix is
 * committable, so a commit can never pass an unacknowledged output.
 */
export class OffsetTracker {
  /** Offsets handed out and not yet finished, in order, from `head` on (no shift(): O(1) per finish). */
  private pending: bigint[] = [];
  private head = 0;
  private readonly finished = new Set<bigint>();
  /** Next offset to read after the finished prefix (what a commit stores). */
  private next: bigint | undefined;
  private committedNext: bigint | undefined;

  /** Registers offsets as in flight (idempotent: a retried record is tracked once). */
  track(offsets: readonly bigint[]): void {
    for (const offset of offsets) {
      const last = this.pending.length > this.head ? this.pending[this.pending.length - 1] : undefined;
      if (last !== undefined && offset <= last) continue;
      if (this.next !== undefined && offset < this.next) continue;
      this.pending.push(offset);
    }
  }

  finish(offsets: readonly bigint[]): void {
    for (const offset of offsets) this.finished.add(offset);
    while (this.head < this.pending.length && this.finished.has(this.pending[this.head] as bigint)) {
      const done = this.pending[this.head] as bigint;
      this.head += 1;
      this.finished.delete(done);
      this.next = done + 1n;
    }
    if (this.head === this.pending.length) {
      this.pending = [];
      this.head = 0;
    } else if (this.head > 4096) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
  }

  get inFlight(): number {
    return this.pending.length - this.head;
  }

  /** The offset to commit if it moved since the last commit, else undefined. */
  committable(): bigint | undefined {
    if (this.next === undefined) return undefined;
    if (this.committedNext !== undefined && this.next <= this.committedNext) return undefined;
    return this.next;
  }

  markCommitted(next: bigint): void {
    if (this.committedNext === undefined || next > this.committedNext) this.committedNext = next;
  }

  get lastCommitted(): bigint | undefined {
    return this.committedNext;
  }
}
