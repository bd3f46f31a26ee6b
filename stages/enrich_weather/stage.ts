/**
 * enrich_weather: joins each validated reading with its site's weather, as of the reading's hour.
 * Reads `weather.raw.v1` (stored in `weather_observations` and the per-site cache; nothing is
 * emitted for it) and `readings.validated.v1` (emitted to `readings.enriched.v1` with weather, or
 * with nulls and `weather_missing`: never dropped).
 *
 * Out-of-order arrival: a reading whose weather may still come (see weather-join.ts, "settled")
 * makes the stage defer its batch. The runner pauses that partition and keeps fetching the others
 * — weather included — and hands the batch in again shortly; after `maxWaitMs` per reading
 * (weather-waits.ts) the reading goes on with the best match so far. Waiting inside `process`
 * instead would hold kafkajs's whole fetch loop, so weather fetched later could never end the wait.
 */
import type { Sql } from 'postgres';
import type { EnrichedReading, WeatherObservation } from '../../domain/messages.js';
import { parseTime } from '../../domain/time-memo.js';
import { TOPICS } from '../../domain/topics.js';
import {
  type Envelope,
  ok,
  type RawRecord,
  type Stage,
  type StageContext,
  type StageResult,
  stageResults,
} from '../../pipeline/index.js';
import type { StageClients } from '../descriptor.js';
import { enrichedReadingCodec } from '../shared/message-codecs.js';
import { pgRunnerDisposition } from '../shared/pg-disposition.js';
import { classifyPgError, pgDeadLetterCode } from '../shared/pg-errors.js';
import { waitForPostgres } from '../shared/pg-wait.js';
import { AsOfCache } from './as-of-cache.js';
import { enrichWeatherCodes } from './codes.js';
import { type EnrichWeatherConfig, enrichWeatherDefaults } from './config.js';
import { type CachedWeather, enrichReading, toCachedWeather } from './enrich.js';
import { type EnrichInput, enrichInputCodec, enrichInputTopics, isTopic } from './input.js';
import { WeatherJoin } from './weather-join.js';
import { WeatherStore } from './weather-store.js';
import { WEATHERLESS_AFTER_MS, WeatherWaits } from './weather-waits.js';

/**
 * How soon a deferred batch is handed in again: after as long as it has waited so far, within
 * these bounds. Weather that is just behind (a backfill, where it is in the next fetch) is picked
 * up within tens of ms; weather that is really late costs a re-run every 200 ms at most.
 */
const MIN_RECHECK_MS = 25;
const MAX_RECHECK_MS = 200;
/** How long a store miss for a site is trusted (another member may store that site's weather). */
const STORE_MISS_TTL_MS = 1_000;

const recordKey = (raw: RawRecord): string => `${raw.topic}:${raw.partition}:${raw.offset}`;

const { deadLetter, defer } = stageResults(enrichWeatherCodes);

export interface EnrichWeatherDeps {
  /** A pool owned by the caller; without it the stage opens one in `init` and closes it itself. */
  readonly sql?: Sql;
  /** Where the stage opens its own pool (the descriptor passes them). */
  readonly clients?: StageClients;
  readonly config?: Partial<EnrichWeatherConfig>;
}

export { enrichedReadingCodec };

export function createEnrichWeatherStage(deps: EnrichWeatherDeps = {}): Stage<EnrichInput, EnrichedReading> {
  const config: EnrichWeatherConfig = { ...enrichWeatherDefaults(), ...deps.config };
  const ownsSql = deps.sql === undefined;
  let sql = deps.sql;
  const cache = new AsOfCache<CachedWeather>(config.toleranceMs, config.cacheRetentionMs);
  // Built on the caller's pool at once, or on the stage's own pool in `init`.
  let store: WeatherStore | undefined;
  let join: WeatherJoin | undefined;
  const useDatabase = (pool: Sql) => {
    sql = pool;
    store = new WeatherStore(pool);
    join = new WeatherJoin(cache, store, STORE_MISS_TTL_MS);
  };
  if (deps.sql) useDatabase(deps.sql);
  const opened = () => {
    if (!store || !join) throw new Error('enrich_weather: init() opens its database pool before process()');
    return { store, join };
  };
  const waits = new WeatherWaits(config.maxWaitMs);
  /** Time of the newest observation seen (any site): how far the weather stream has come. */
  let newestWeather = Number.NEGATIVE_INFINITY;

  async function storeWeather(observations: readonly WeatherObservation[]): Promise<StageResult<EnrichedReading>[]> {
    // Stored before cached: the cache evicts hours behind its newest observation, and a reading
    // that misses the cache must then find the hour in the table, so the table has to hold it first.
    try {
      await opened().store.upsert(observations);
    } catch (error) {
      if (classifyPgError(error) === 'retry') waits.weatherHeldUp(Date.now());
      // Alone (the runner's one-by-one re-run), a data/constraint error is this record's fault.
      const code = observations.length === 1 ? pgDeadLetterCode(error) : undefined;
      if (code) return [deadLetter(code, error as Error)];
      throw error;
    }
    waits.weatherFlowing(Date.now());
    for (const o of observations) {
      const cached = toCachedWeather(o);
      cache.put(o.site_id, cached);
      waits.weatherArrived(o.site_id);
      opened().join.weatherArrived(o.site_id, cached);
      if (cached.time > newestWeather) newestWeather = cached.time;
    }
    return observations.map(() => ok<EnrichedReading>());
  }

  /** The enriched readings, or how long to wait before the batch is handed in again. */
  async function enrichReadings(
    envelopes: readonly Envelope<EnrichInput>[],
    ctx: StageContext,
  ): Promise<EnrichedReading[] | { recheckMs: number }> {
    const items = envelopes.flatMap((e) =>
      e.value.kind === 'reading'
        ? [{ reading: e.value.reading, key: recordKey(e.raw), time: parseTime(e.value.reading.time) }]
        : [],
    );
    // A batch handed in again asks the store afresh: its readings are waiting for exactly that.
    const askedAt = Date.now();
    const rechecking = items.some(({ key }) => waits.waitedMs(key, askedAt) > 0);
    const answers = await opened().join.lookup(
      items.map(({ reading, time }) => ({ site: reading.site_id, time })),
      config.toleranceMs,
      { fresh: rechecking },
    );
    const now = Date.now();
    // A weather partition of this member being retried (its store or broker briefly down) holds
    // weather up: readings waiting for it wait on (WeatherWaits), whatever the order of recovery.
    if (ctx.retryingPartitions?.().some((tp) => isTopic(tp.topic, TOPICS.weatherRaw))) waits.weatherHeldUp(now);
    // Weather found for a site (perhaps stored by another member) ends its weatherless status here.
    items.forEach(({ reading }, i) => {
      if (answers[i]?.match) waits.weatherArrived(reading.site_id);
    });
    // An observation stamped in the future must not make every reading look passed.
    const streamTime = Math.min(newestWeather, now);
    let wait = false;
    let waited = 0;
    // Readings only waiting to be declared weatherless need no recheck before that moment comes.
    let onlyWeatherless = true;
    items.forEach(({ reading, key, time }, i) => {
      if (answers[i]?.settled) return;
      const hasWeather = cache.hasSite(reading.site_id);
      const streamPassed = streamTime >= time + config.toleranceMs;
      if (waits.keepWaiting(key, reading.site_id, hasWeather, now, streamPassed)) {
        wait = true;
        waited = Math.max(waited, waits.waitedMs(key, now));
        if (hasWeather || !streamPassed) onlyWeatherless = false;
      }
    });
    // On shutdown nothing waits: the drain must finish.
    if (wait && !ctx.signal.aborted) {
      const recheckMs = onlyWeatherless
        ? WEATHERLESS_AFTER_MS - waited
        : Math.min(MAX_RECHECK_MS, Math.max(MIN_RECHECK_MS, waited));
      return { recheckMs: Math.max(MIN_RECHECK_MS, recheckMs) };
    }
    for (const { key } of items) waits.done(key, now);
    const enriched = items.map(({ reading }, i) => enrichReading(reading, answers[i]?.match));
    const missing = enriched.filter((r) => r.weather_missing).length;
    if (missing > 0) ctx.log.debug({ records: enriched.length, missing }, 'readings passed on without weather');
    return enriched;
  }

  return {
    name: 'enrich_weather',
    inputs: enrichInputTopics,
    input: enrichInputCodec,
    output: { topic: TOPICS.readingsEnriched, codec: enrichedReadingCodec, key: (r) => r.meter_id },
    batch: { maxRecords: config.maxRecords },
    classifyError: pgRunnerDisposition,

    async init(ctx) {
      if (!sql) {
        if (!deps.clients) throw new Error('enrich_weather needs a PostgreSQL pool: pass sql or clients');
        useDatabase(deps.clients.postgres({ max: config.dbPool, applicationName: 'eaio-enrich_weather' }));
      }
      await waitForPostgres(sql as Sql, ctx, { waitMs: deps.clients?.startupWaitMs });
      const recent = await opened().store.loadRecent(config.cacheRetentionMs);
      let observations = 0;
      for (const [site, series] of recent) {
        for (const observation of series) {
          cache.put(site, observation);
          if (observation.time > newestWeather) newestWeather = observation.time;
        }
        observations += series.length;
      }
      ctx.log.info({ sites: recent.size, observations }, 'weather cache warmed from weather_observations');
    },

    async process(batch, ctx) {
      // A batch comes from one partition, hence one topic; the split keeps mixed batches correct anyway.
      const weather = batch.flatMap((e) => (e.value.kind === 'weather' ? [e.value.observation] : []));
      const weatherResults = weather.length > 0 ? await storeWeather(weather) : [];
      const enriched = batch.length > weather.length ? await enrichReadings(batch, ctx) : [];
      let w = 0;
      let r = 0;
      return batch.map((e) => {
        if (e.value.kind === 'weather') return weatherResults[w++] as StageResult<EnrichedReading>;
        if (!Array.isArray(enriched)) return defer('weather_not_arrived', enriched.recheckMs);
        return ok({ value: enriched[r++] as EnrichedReading });
      });
    },

    async onPartitionsRevoked() {
      waits.reset();
    },

    async close() {
      if (ownsSql) await sql?.end({ timeout: 5 });
    },
  };
}
