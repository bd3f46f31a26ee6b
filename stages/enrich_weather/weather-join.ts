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
import type { AsOfAnswer, WeatherQuery, WeatherSource } from './weather-store.js';

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
 * What the store holds of a site's newest weather, as learnt when it was asked: nothing at or after
 * `from`, and `last` (when known) its newest observation before `from`, none in between. At the live
 * edge (readings consumed before their hour's weather) and for sites without weather, every batch
 * would otherwise cost a store round trip. Moved forward by the weather this member stores itself;
 * trusted for `emptyTtlMs` only, since another member may store that site's weather meanwhile.
 */
interface StoreEdge {
  readonly from: number;
  readonly last?: CachedWeather;
  readonly seenAt: number;
}

/** The edge once the store holds `observation` too (stored by this member). */
function advance(edge: StoreEdge, observation: CachedWeather): StoreEdge {
  if (observation.time < edge.from && observation.time !== edge.last?.time) return edge;
  return { from: Math.max(edge.from, observation.time + 1), last: observation, seenAt: edge.seenAt };
}

export class WeatherJoin {
  private readonly edges = new Map<string, StoreEdge>();
  /** Weather this member stored, counted; per site, the count at its last observation. */
  private arrivals = 0;
  private readonly lastArrival = new Map<string, number>();

  constructor(
    private readonly cache: AsOfCache<CachedWeather>,
    private readonly store: WeatherSource,
    private readonly emptyTtlMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** This member stored `observation`: a known edge of the site's weather moves past it. */
  weatherArrived(site: string, observation: CachedWeather): void {
    this.lastArrival.set(site, ++this.arrivals);
    const edge = this.edges.get(site);
    if (edge !== undefined) this.edges.set(site, advance(edge, observation));
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

  /**
   * The store's answer to `query` when the site's known edge decides it: nothing at or after the
   * query's hour, and as match the edge's `last` if within the tolerance (or nothing in the window).
   */
  private knownAnswer(query: WeatherQuery, toleranceMs: number, now: number): { match?: CachedWeather } | undefined {
    const edge = this.edges.get(query.site);
    if (edge === undefined || now - edge.seenAt >= this.emptyTtlMs) return undefined;
    if (edge.last === undefined) return query.time - toleranceMs >= edge.from ? {} : undefined;
    if (query.time < edge.from) return undefined;
    return query.time - edge.last.time <= toleranceMs ? { match: edge.last } : {};
  }

  /**
   * One round trip for the distinct (site, hour) pairs of `slots`. Its matches do not go into the
   * cache: the cache holds the weather this member consumed (complete for its sites within the
   * window), and a stray later hour from the store would let the cache settle a reading with an
   * older hour while the store holds a closer one (stored by another member).
   */
  private async askStore(open: readonly Slot[], toleranceMs: number, fresh: boolean): Promise<void> {
    const asked = this.now();
    const round = this.arrivals;
    const slots: Slot[] = [];
    for (const slot of open) {
      const known = fresh ? undefined : this.knownAnswer(slot.query, toleranceMs, asked);
      // Known: nothing at or after the hour, so the slot stays unsettled, with the edge's match.
      if (known) slot.best = newerWeather(slot.best, known.match);
      else slots.push(slot);
    }
    if (slots.length === 0) return;
    const distinct = new Map<string, WeatherQuery>();
    for (const slot of slots) distinct.set(queryKey(slot.query), slot.query);
    const queries = [...distinct.values()];
    const answers = await this.store.asOf(queries, toleranceMs);
    this.learnEdges(queries, answers, toleranceMs, asked, round);
    const byKey = new Map(queries.map((q, i) => [queryKey(q), answers[i]]));
    for (const slot of slots) {
      const answer = byKey.get(queryKey(slot.query));
      if (!answer) continue;
      slot.best = newerWeather(slot.best, answer.match);
      slot.settled ||= answer.hasLater || slot.best?.time === slot.query.time;
    }
  }

  /**
   * The freshest word on the sites just asked about replaces what was known of them. An answer with
   * no later observation says: nothing at or after the hour, and, with a match, nothing after the
   * match either (it is the newest at or before the hour); without one, nothing within the tolerance
   * before the hour. Answers of one round agree, and the smallest `from` says the most. A site
   * whose weather this member stored while the round was in flight learns nothing from it (the
   * answer may predate that weather), nor does an edge learnt by a round asked later get replaced.
   */
  private learnEdges(
    queries: readonly WeatherQuery[],
    answers: readonly (AsOfAnswer | undefined)[],
    toleranceMs: number,
    asked: number,
    round: number,
  ): void {
    const learnt = new Map<string, StoreEdge | undefined>();
    queries.forEach((query, i) => {
      const answer = answers[i];
      if (!learnt.has(query.site)) learnt.set(query.site, undefined);
      if (!answer || answer.hasLater) return;
      const edge: StoreEdge = answer.match
        ? { from: answer.match.time + 1, last: answer.match, seenAt: asked }
        : { from: query.time - toleranceMs, seenAt: asked };
      const previous = learnt.get(query.site);
      if (previous === undefined || edge.from < previous.from) learnt.set(query.site, edge);
    });
    for (const [site, edge] of learnt) {
      const current = this.edges.get(site);
      if (current !== undefined && current.seenAt > asked) continue;
      if (edge && (this.lastArrival.get(site) ?? 0) <= round) this.edges.set(site, edge);
      else this.edges.delete(site);
    }
  }
}

const queryKey = (q: WeatherQuery): string => `${q.site}\u0000${q.time}`;
