/**
 * Per-site weather kept in time order for an as-of join: a reading gets the latest observation
 * at or before its hour, within a tolerance. Readings whose weather has not arrived yet can wait
 * for it (bounded), because weather and readings travel on different topics and partitions and
 * may be consumed out of order.
 */
export interface Timed {
  /** ms since epoch, UTC. */
  readonly time: number;
}

interface Waiter {
  readonly time: number;
  readonly resolve: () => void;
}

export class AsOfCache<T extends Timed> {
  private readonly bySite = new Map<string, T[]>();
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(
    private readonly toleranceMs: number,
    /** Observations older than this behind the newest one of a site are dropped to bound memory. */
    private readonly retentionMs: number,
  ) {}

  /** Inserts or replaces (same time) an observation and wakes readings that were waiting for it. */
  put(site: string, observation: T): void {
    let series = this.bySite.get(site);
    if (!series) {
      series = [];
      this.bySite.set(site, series);
    }
    const index = upperBound(series, observation.time);
    if (index > 0 && series[index - 1]?.time === observation.time) series[index - 1] = observation;
    else series.splice(index, 0, observation);
    this.evictOld(series);
    this.wake(site, observation.time);
  }

  /** The observation at or before `time` and no older than the tolerance, if any. */
  lookup(site: string, time: number): T | undefined {
    const series = this.bySite.get(site);
    if (!series || series.length === 0) return undefined;
    const index = upperBound(series, time) - 1;
    const candidate = index >= 0 ? series[index] : undefined;
    if (!candidate || time - candidate.time > this.toleranceMs) return undefined;
    return candidate;
  }

  /** True when a newer observation exists, i.e. waiting longer cannot bring a better match. */
  hasObservationAfter(site: string, time: number): boolean {
    const series = this.bySite.get(site);
    const last = series?.[series.length - 1];
    return last !== undefined && last.time >= time;
  }

  /**
   * Resolves with the match as soon as an observation at or after `time` arrives for the site,
   * or with whatever matches when `waitMs` runs out or `signal` aborts.
   */
  async waitFor(site: string, time: number, waitMs: number, signal?: AbortSignal): Promise<T | undefined> {
    if (this.hasObservationAfter(site, time) || waitMs <= 0) return this.lookup(site, time);
    await new Promise<void>((resolve) => {
      const set = this.waiters.get(site) ?? new Set<Waiter>();
      this.waiters.set(site, set);
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        set.delete(waiter);
        resolve();
      };
      const waiter: Waiter = { time, resolve: finish };
      const timer = setTimeout(finish, waitMs);
      signal?.addEventListener('abort', finish, { once: true });
      set.add(waiter);
    });
    return this.lookup(site, time);
  }

  size(): number {
    let total = 0;
    for (const series of this.bySite.values()) total += series.length;
    return total;
  }

  private wake(site: string, time: number): void {
    const set = this.waiters.get(site);
    if (!set) return;
    for (const waiter of [...set]) if (time >= waiter.time) waiter.resolve();
  }

  private evictOld(series: T[]): void {
    const newest = series[series.length - 1];
    if (!newest) return;
    const cutoff = newest.time - this.retentionMs;
    let drop = 0;
    while (drop < series.length - 1 && (series[drop]?.time ?? Number.POSITIVE_INFINITY) < cutoff) drop++;
    if (drop > 0) series.splice(0, drop);
  }
}

/** First index whose time is greater than `time` (series sorted ascending). */
function upperBound<T extends Timed>(series: readonly T[], time: number): number {
  let low = 0;
  let high = series.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((series[mid]?.time ?? 0) <= time) low = mid + 1;
    else high = mid;
  }
  return low;
}
