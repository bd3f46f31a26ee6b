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

/**
 * Sites the store had nothing for from some time on, and when it said so. A site without weather
 * (or whose weather is late) would otherwise cost a store round trip in every batch. Trusted for
 * `emptyTtlMs` only: another member may store that site's weather meanwhile.
 */
interface EmptyStretch {
  readonly from: number;
  readonly seenAt: number;
}

export class WeatherJoin {
  private readonly empty = new Map<string, EmptyStretch>();

  constructor(
    private readonly cache: AsOfCache<CachedWeather>,
    private readonly store: WeatherSource,
    private readonly emptyTtlMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Weather for `site` came in through this member: the store is worth asking again. */
  weatherArrived(site: string): void {
    this.empty.delete(site);
  }

  /** `fresh`: ask the store even about sites it recently had nothing for. */
  async lookup(
    queries: readonly WeatherQuery[],
    toleranceMs: number,
    options: { readonly fresh?: boolean } = {},
  ): Promise<JoinAnswer[]> {
    const slots: Slot[] = queries.map((query) => ({ query, settled: false }));
    for (const slot of slots) this.settleFromCache(slot);
    await this.askStore(
      slots.filter((s) => !s.settled),
      toleranceMs,
      options.fresh ?? false,
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

  /** Known (recently) to have nothing in the store for this query's window or later. */
  private knownEmpty(query: WeatherQuery, toleranceMs: number, now: number): boolean {
    const stretch = this.empty.get(query.site);
    return stretch !== undefined && now - stretch.seenAt < this.emptyTtlMs && query.time - toleranceMs >= stretch.from;
  }

  /** One round trip for the distinct (site, hour) pairs of `slots`; matches also go into the cache. */
  private async askStore(open: readonly Slot[], toleranceMs: number, fresh: boolean): Promise<void> {
    const asked = this.now();
    const slots = fresh ? open : open.filter((slot) => !this.knownEmpty(slot.query, toleranceMs, asked));
    if (slots.length === 0) return;
    const distinct = new Map<string, WeatherQuery>();
    for (const slot of slots) distinct.set(queryKey(slot.query), slot.query);
    const queries = [...distinct.values()];
    const answers = await this.store.asOf(queries, toleranceMs);
    queries.forEach((query, i) => {
      const answer = answers[i];
      if (!answer || answer.match || answer.hasLater) return;
      const from = query.time - toleranceMs;
      const known = this.empty.get(query.site);
      const stillValid = known !== undefined && asked - known.seenAt < this.emptyTtlMs;
      // Nothing in [time − tolerance, ∞): later queries of the site within that stretch need no round trip.
      if (!stillValid || from < known.from) this.empty.set(query.site, { from, seenAt: asked });
    });
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
