/**
 * How long readings wait for weather that has not arrived yet. Weather and readings travel on
 * different topics and partitions, so a reading can be consumed before its hour's observation.
 * The stage then defers the batch (the runner pauses that partition and keeps fetching the
 * others, weather included) until each unsettled reading has waited `maxWaitMs` since it was
 * first deferred; after that it goes on with the best match, possibly none (`weather_missing`).
 *
 * A site whose readings timed out without the site ever having had an observation is remembered
 * as weatherless, so its later readings do not wait at all — until weather for it shows up.
 * It is remembered sooner when the weather stream has already moved past the reading's hour (by
 * the join tolerance) for other sites and the reading has been handed in again once since (so the
 * runner fetched every weather partition meanwhile): producers publish weather in time order, so a
 * site that has none by then is not about to get some for that hour. In a backfill this turns the
 * first `maxWaitMs` stall of each weatherless site into one recheck.
 */
/** Least wait before a site without any weather is given up on because the stream has passed the hour. */
export const WEATHERLESS_AFTER_MS = 200;
/**
 * Longest a reading waits while weather is held up (its store down, a weather partition in a retry
 * backoff): longer than an outage's retry backoff (capped at 10 s), still bounded.
 */
export const HELD_UP_MAX_WAIT_MS = 30_000;
/** Readings remembered as having waited already (bounded memory). */
const MAX_REMEMBERED = 100_000;

export class WeatherWaits {
  private readonly firstDeferredAt = new Map<string, number>();
  private readonly weatherlessSites = new Set<string>();
  /**
   * Readings that waited and went on, and when: handed in again (a later step of a chain failed
   * and the chunk is re-run), they must not start a new wait, or such a chunk would wait forever.
   */
  private readonly wentOn = new Map<string, number>();
  /**
   * Since when weather cannot be stored here (its store is down, the weather batch is being
   * retried). Meanwhile waits run to HELD_UP_MAX_WAIT_MS instead of maxWaitMs: the weather is held
   * up, not absent, and readings that gave up now would be stored without the weather that comes
   * once the store is back.
   */
  private heldUpSince: number | undefined;

  constructor(private readonly maxWaitMs: number) {}

  /** Storing weather failed transiently: the weather stream is held up until it succeeds. */
  weatherHeldUp(now: number): void {
    this.heldUpSince ??= now;
  }

  /** Storing weather succeeded: waits run again, each from now at the earliest. */
  weatherFlowing(now: number): void {
    if (this.heldUpSince === undefined) return;
    this.heldUpSince = undefined;
    for (const [key, since] of this.firstDeferredAt) if (since < now) this.firstDeferredAt.set(key, now);
  }

  /**
   * Whether an unsettled reading should wait longer. `siteHasWeather`: any observation of the site
   * is known; `streamPassed`: the weather stream has observations past the reading's hour + tolerance.
   */
  keepWaiting(recordKey: string, site: string, siteHasWeather: boolean, now: number, streamPassed = false): boolean {
    if (this.maxWaitMs <= 0 || this.weatherlessSites.has(site) || this.wentOn.has(recordKey)) return false;
    const since = this.firstDeferredAt.get(recordKey);
    if (since === undefined) {
      this.firstDeferredAt.set(recordKey, now);
      return true;
    }
    if (this.heldUpSince !== undefined && now - since < Math.max(this.maxWaitMs, HELD_UP_MAX_WAIT_MS)) return true;
    // Waited a few rechecks (so weather partitions fetched with this one have been processed too).
    if (!siteHasWeather && streamPassed && now - since >= WEATHERLESS_AFTER_MS) {
      this.weatherlessSites.add(site);
      return false;
    }
    if (now - since < this.maxWaitMs) return true;
    if (!siteHasWeather) this.weatherlessSites.add(site);
    return false;
  }

  /** How long the reading has waited so far (0 if it is not waiting). */
  waitedMs(recordKey: string, now: number): number {
    const since = this.firstDeferredAt.get(recordKey);
    return since === undefined ? 0 : now - since;
  }

  /** The reading went on: forget its clock (and remember for a while that it already waited). */
  done(recordKey: string, now: number): void {
    if (!this.firstDeferredAt.delete(recordKey)) return;
    if (this.wentOn.size >= MAX_REMEMBERED) {
      for (const [key, at] of this.wentOn) if (now - at > this.maxWaitMs) this.wentOn.delete(key);
      if (this.wentOn.size >= MAX_REMEMBERED) this.wentOn.clear();
    }
    this.wentOn.set(recordKey, now);
  }

  weatherArrived(site: string): void {
    this.weatherlessSites.delete(site);
  }

  isWeatherless(site: string): boolean {
    return this.weatherlessSites.has(site);
  }

  /** Partitions moved to another member: their readings' clocks start again there. */
  reset(): void {
    this.firstDeferredAt.clear();
    this.wentOn.clear();
    this.heldUpSince = undefined;
  }

  get waiting(): number {
    return this.firstDeferredAt.size;
  }
}
