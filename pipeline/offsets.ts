/**
 * Per-partition watermark of finished work. An offset is "finished" once every output and dead
 * letter it caused has been acknowledged by the broker; only the contiguous finished prefix is
 * committable, so a commit can never pass an unacknowledged output.
 */
export class OffsetTracker {
  /** Offsets handed out and not yet finished, in order. */
  private readonly pending: bigint[] = [];
  private readonly finished = new Set<bigint>();
  /** Next offset to read after the finished prefix (what a commit stores). */
  private next: bigint | undefined;
  private committedNext: bigint | undefined;

  /** Registers offsets as in flight (idempotent: a retried record is tracked once). */
  track(offsets: readonly bigint[]): void {
    for (const offset of offsets) {
      const last = this.pending[this.pending.length - 1];
      if (last !== undefined && offset <= last) continue;
      if (this.next !== undefined && offset < this.next) continue;
      this.pending.push(offset);
    }
  }

  finish(offsets: readonly bigint[]): void {
    for (const offset of offsets) this.finished.add(offset);
    while (this.pending.length > 0 && this.finished.has(this.pending[0] as bigint)) {
      const head = this.pending.shift() as bigint;
      this.finished.delete(head);
      this.next = head + 1n;
    }
  }

  get inFlight(): number {
    return this.pending.length;
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
