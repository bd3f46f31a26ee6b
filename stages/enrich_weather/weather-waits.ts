/**
 * How long readings wait for weather that has not arrived yet. Weather and readings travel on
 * different topics and partitions, so a reading can be consumed before its hour's observation.
 * The stage then defers the batch (the runner pauses that partition and keeps fetching the
 * others, weather included) until each unsettled reading has waited `maxWaitMs` since it was
 * first deferred; after that it goes on with the best match, possibly none (`weather_missing`).
 *
 * A site whose readings timed out without the site ever having had an observation is remembered
 * as weatherless, so its later readings do not wait at all — until weather for it shows up.
 */
export class WeatherWaits {
  private readonly firstDeferredAt = new Map<string, number>();
  private readonly weatherlessSites = new Set<string>();

  constructor(private readonly maxWaitMs: number) {}

  /** Whether an unsettled reading should wait longer. `siteHasWeather`: any observation of the site is known. */
  keepWaiting(recordKey: string, site: string, siteHasWeather: boolean, now: number): boolean {
    if (this.maxWaitMs <= 0 || this.weatherlessSites.has(site)) return false;
    const since = this.firstDeferredAt.get(recordKey);
    if (since === undefined) {
      this.firstDeferredAt.set(recordKey, now);
      return true;
    }
    if (now - since < this.maxWaitMs) return true;
    if (!siteHasWeather) this.weatherlessSites.add(site);
    return false;
  }

  /** The reading went on: forget its clock. */
  done(recordKey: string): void {
    this.firstDeferredAt.delete(recordKey);
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
  }

  get waiting(): number {
    return this.firstDeferredAt.size;
  }
}
