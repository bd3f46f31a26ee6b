/**
 * The as-of join of a batch of readings with their sites' weather, in up to three rounds, each
 * only for the readings the previous one left open:
 *  1. the in-memory cache;
 *  2. `weather_observations` (observations this member never saw: evicted, from before a restart,
 *     or consumed by the member that owns that weather partition);
 *  3. a bounded wait for observations that have not arrived yet (weather and readings travel on
 *     different topics), then one more look at the store, because another member may have stored
 *     the observation in the meantime.
 * A reading is settled once its match is for its own hour or a later observation of its site is
 * known (waiting cannot improve it). Whatever is still open when the wait ends goes on with the
 * best match found, possibly none: readings are never held back longer than `maxWaitMs` per batch.
 */
import type { AsOfCache } from './as-of-cache.js';
import { type CachedWeather, newerWeather } from './enrich.js';
import type { WeatherQuery, WeatherSource } from './weather-store.js';

export interface JoinOptions {
  readonly toleranceMs: number;
  /** Longest the whole batch waits for late weather (one wait shared by all its readings). */
  readonly maxWaitMs: number;
  readonly signal?: AbortSignal;
}

interface Slot {
  readonly query: WeatherQuery;
  best?: CachedWeather;
  settled: boolean;
}

export class WeatherJoin {
  constructor(
    private readonly cache: AsOfCache<CachedWeather>,
    private readonly store: WeatherSource,
  ) {}

  async match(queries: readonly WeatherQuery[], options: JoinOptions): Promise<(CachedWeather | undefined)[]> {
    const slots: Slot[] = queries.map((query) => ({ query, settled: false }));
    for (const slot of slots) this.settleFromCache(slot);

    await this.askStore(open(slots), options.toleranceMs);

    const waiting = open(slots);
    if (waiting.length > 0 && options.maxWaitMs > 0 && !options.signal?.aborted) {
      await this.waitForLateWeather(waiting, options);
      for (const slot of waiting) this.settleFromCache(slot);
      await this.askStore(open(slots), options.toleranceMs);
    }
    return slots.map((slot) => slot.best);
  }

  private settleFromCache(slot: Slot): void {
    const { site, time } = slot.query;
    slot.best = newerWeather(slot.best, this.cache.lookup(site, time));
    slot.settled ||=
      slot.best?.time === time || (slot.best !== undefined && this.cache.hasObservationAfter(site, time));
  }

  /** One round trip for the distinct (site, hour) pairs of `slots`; matches also go into the cache. */
  private async askStore(slots: readonly Slot[], toleranceMs: number): Promise<void> {
    if (slots.length === 0) return;
    const distinct = new Map<string, WeatherQuery>();
    for (const slot of slots) distinct.set(queryKey(slot.query), slot.query);
    const queries = [...distinct.values()];
    const answers = await this.store.asOf(queries, toleranceMs);
    const byKey = new Map(queries.map((q, i) => [queryKey(q), answers[i]]));
    for (const slot of slots) {
      const answer = byKey.get(queryKey(slot.query));
      if (!answer) continue;
      if (answer.match) this.cache.put(slot.query.site, answer.match);
      slot.best = newerWeather(slot.best, answer.match);
      slot.settled ||= answer.hasLater || slot.best?.time === slot.query.time;
    }
  }

  /** One waiter per site, for the latest hour any open reading of that site needs; all share the deadline. */
  private async waitForLateWeather(slots: readonly Slot[], options: JoinOptions): Promise<void> {
    const latestBySite = new Map<string, number>();
    for (const { query } of slots)
      latestBySite.set(query.site, Math.max(latestBySite.get(query.site) ?? query.time, query.time));
    await Promise.all(
      [...latestBySite].map(([site, time]) => this.cache.waitFor(site, time, options.maxWaitMs, options.signal)),
    );
  }
}

const open = (slots: readonly Slot[]): Slot[] => slots.filter((s) => !s.settled);
const queryKey = (q: WeatherQuery): string => `${q.site}\u0000${q.time}`;
