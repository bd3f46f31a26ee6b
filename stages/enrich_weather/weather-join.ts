/**
 * The as-of join of a batch of readings with their sites' weather, in two rounds, the second only
 * for the readings the first left open:
 *  1. the in-memory cache;
 *  2. `weather_observations` (observations this member never saw: evicted, from before a restart,
 *     or consumed by the member that owns that weather partition).
 * A reading is settled once its match is for its own hour or a later observation of its site is
 * known: waiting cannot improve it. Unsettled readings may still get a better match when late
 * weather arrives; whether to wait for it is decided by `WeatherWaits` (the stage defers the batch).
 */
import type { AsOfCache } from './as-of-cache.js';
import { type CachedWeather, newerWeather } from './enrich.js';
import type { WeatherQuery, WeatherSource } from './weather-store.js';

export interface JoinAnswer {
  readonly match: CachedWeather | undefined;
  readonly settled: boolean;
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

  async lookup(queries: readonly WeatherQuery[], toleranceMs: number): Promise<JoinAnswer[]> {
    const slots: Slot[] = queries.map((query) => ({ query, settled: false }));
    for (const slot of slots) this.settleFromCache(slot);
    await this.askStore(
      slots.filter((s) => !s.settled),
      toleranceMs,
    );
    return slots.map((slot) => ({ match: slot.best, settled: slot.settled }));
  }

  private settleFromCache(slot: Slot): void {
    const { site, time } = slot.query;
    slot.best = newerWeather(slot.best, this.cache.lookup(site, time));
    // Without a match the store is still asked: the cache only holds a recent window per site.
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
}

const queryKey = (q: WeatherQuery): string => `${q.site}\u0000${q.time}`;
