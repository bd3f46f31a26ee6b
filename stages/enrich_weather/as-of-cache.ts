/**
 * Per-site weather kept in time order for an as-of join: a reading gets the latest observation
 * at or before its hour, within a tolerance. Memory is bounded per site by a retention window
 * behind the site's newest observation.
 */
export interface Timed {
  /** ms since epoch, UTC. */
  readonly time: number;
}

export class AsOfCache<T extends Timed> {
  private readonly bySite = new Map<string, T[]>();

  constructor(
    private readonly toleranceMs: number,
    /** Observations older than this behind the newest one of a site are dropped to bound memory. */
    private readonly retentionMs: number,
  ) {}

  /** Inserts or replaces (same time) an observation. */
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

  /** True when any observation of the site is held. */
  hasSite(site: string): boolean {
    return (this.bySite.get(site)?.length ?? 0) > 0;
  }

  size(): number {
    let total = 0;
    for (const series of this.bySite.values()) total += series.length;
    return total;
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
