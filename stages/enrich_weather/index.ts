/**
 * enrich_weather: joins each validated reading with its site's weather, as of the reading's hour.
 * Reads `weather.raw.v1` (stored in `weather_observations` and the per-site cache; nothing is
 * emitted for it) and `readings.validated.v1` (emitted to `readings.enriched.v1` with weather, or
 * with nulls and `weather_missing` once the bounded wait is over: never dropped).
 *
 * Waiting cannot deadlock: the runner processes partitions concurrently (one batch in flight per
 * partition), so a waiting readings batch and a weather batch already fetched run side by side,
 * and the wait is bounded. Limit on Kafka: kafkajs fetches again only when every batch of the
 * previous fetch is done, so weather that reaches the broker after the readings' fetch is read only
 * after the wait; the wait helps for weather fetched together with (or before) the readings, which
 * is how `eaio replay` publishes. Hence the small default wait. The rounds of the join: weather-join.ts.
 */
import type { Sql } from 'postgres';
import { loadEnv } from '../../config/load.js';
import { type EnrichedReading, EnrichedReadingSchema, type WeatherObservation } from '../../domain/messages.js';
import { TOPICS } from '../../domain/topics.js';
import {
  deadLetter,
  type Envelope,
  jsonCodec,
  ok,
  type Stage,
  type StageContext,
  type StageResult,
} from '../../pipeline/index.js';
import { createPgClient } from '../shared/pg-client.js';
import { pgRunnerDisposition } from '../shared/pg-disposition.js';
import { classifyPgError, pgDeadLetterCode } from '../shared/pg-errors.js';
import { AsOfCache } from './as-of-cache.js';
import { type EnrichWeatherConfig, loadEnrichWeatherConfig } from './config.js';
import { type CachedWeather, enrichReading, toCachedWeather } from './enrich.js';
import { type EnrichInput, enrichInputCodec, enrichInputTopics } from './input.js';
import { WeatherJoin } from './weather-join.js';
import { WeatherStore } from './weather-store.js';

export interface EnrichWeatherDeps {
  /** A pool owned by the caller; without it the stage opens one on DATABASE_URL and closes it itself. */
  readonly sql?: Sql;
  readonly config?: Partial<EnrichWeatherConfig>;
}

export const enrichedReadingCodec = jsonCodec<EnrichedReading>(
  (v) => EnrichedReadingSchema.parse(v),
  (r) => Date.parse(r.time),
);

export function createEnrichWeatherStage(deps: EnrichWeatherDeps = {}): Stage<EnrichInput, EnrichedReading> {
  const config: EnrichWeatherConfig = { ...loadEnrichWeatherConfig(), ...deps.config };
  const ownsSql = deps.sql === undefined;
  const sql =
    deps.sql ?? createPgClient(loadEnv().DATABASE_URL, { max: config.dbPool, applicationName: 'eaio-enrich_weather' });
  const store = new WeatherStore(sql);
  const cache = new AsOfCache<CachedWeather>(config.toleranceMs, config.cacheRetentionMs);
  const join = new WeatherJoin(cache, store);

  async function storeWeather(observations: readonly WeatherObservation[]): Promise<StageResult<EnrichedReading>[]> {
    // Into the cache first: a readings batch waiting for this hour wakes without a DB round trip.
    // The upsert follows; if it fails the batch is redelivered and both happen again.
    for (const o of observations) cache.put(o.site_id, toCachedWeather(o));
    try {
      await store.upsert(observations);
    } catch (error) {
      // Alone (the runner's one-by-one re-run), a data/constraint error is this record's fault.
      if (observations.length === 1 && classifyPgError(error) === 'dead_letter') {
        return [deadLetter(pgDeadLetterCode(error), error as Error)];
      }
      throw error;
    }
    return observations.map(() => ok<EnrichedReading>());
  }

  async function enrichReadings(envelopes: readonly Envelope<EnrichInput>[], ctx: StageContext) {
    const readings = envelopes.flatMap((e) => (e.value.kind === 'reading' ? [e.value.reading] : []));
    const matches = await join.match(
      readings.map((r) => ({ site: r.site_id, time: Date.parse(r.time) })),
      { toleranceMs: config.toleranceMs, maxWaitMs: config.maxWaitMs, signal: ctx.signal },
    );
    const enriched = readings.map((r, i) => enrichReading(r, matches[i]));
    const missing = enriched.filter((r) => r.weather_missing).length;
    if (missing > 0) ctx.log.info({ records: enriched.length, missing }, 'readings passed on without weather');
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
      const recent = await store.loadRecent(config.cacheRetentionMs);
      let observations = 0;
      for (const [site, series] of recent) {
        for (const observation of series) cache.put(site, observation);
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
        return ok({ value: enriched[r++] as EnrichedReading });
      });
    },

    async close() {
      if (ownsSql) await sql.end({ timeout: 5 });
    },
  };
}
