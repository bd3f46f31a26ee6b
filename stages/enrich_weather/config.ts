import { z } from 'zod';

/** Settings of the enrich_weather stage, read from its own environment variables. */
export const enrichWeatherSettings = z.object({
  EAIO_ENRICH_WEATHER_TOLERANCE_HOURS: z.coerce
    .number()
    .min(0)
    .max(48)
    .default(3)
    .describe('A reading joins the latest observation at or before its hour that is at most this many hours older.'),
  EAIO_ENRICH_WEATHER_MAX_WAIT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(5_000)
    .describe(
      'Longest a reading waits (its partition paused, others flowing) for weather that has not arrived; then it passes with the best match or weather_missing.',
    ),
  EAIO_ENRICH_WEATHER_CACHE_HOURS: z.coerce
    .number()
    .min(1)
    .max(24 * 90)
    // 30 days: weather (one row per site and hour) runs ahead of readings in a backfill or a replay
    // of a small fleet (one send of 5,000 readings spans 135 h of 37 meters); within the window the
    // join needs no database round trip. About 0.1 MB per site.
    .default(720)
    .describe(
      'Hours of observations kept in memory per site, behind its newest one (older ones come from weather_observations); about 0.1 MB per site at 720.',
    ),
  EAIO_ENRICH_WEATHER_BATCH_RECORDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(500)
    .describe('Most records per process call.'),
  EAIO_ENRICH_WEATHER_DB_POOL: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe('PostgreSQL connections of the stage.'),
});

export interface EnrichWeatherConfig {
  readonly toleranceMs: number;
  readonly maxWaitMs: number;
  readonly cacheRetentionMs: number;
  readonly maxRecords: number;
  readonly dbPool: number;
}

const HOUR_MS = 3_600_000;

/** The names these settings had before every stage setting was `EAIO_<STAGE>_*`. */
export const enrichWeatherAliases = {
  EAIO_WEATHER_TOLERANCE_HOURS: 'EAIO_ENRICH_WEATHER_TOLERANCE_HOURS',
  EAIO_WEATHER_MAX_WAIT_MS: 'EAIO_ENRICH_WEATHER_MAX_WAIT_MS',
  EAIO_WEATHER_CACHE_HOURS: 'EAIO_ENRICH_WEATHER_CACHE_HOURS',
  EAIO_ENRICH_BATCH_RECORDS: 'EAIO_ENRICH_WEATHER_BATCH_RECORDS',
  EAIO_ENRICH_DB_POOL: 'EAIO_ENRICH_WEATHER_DB_POOL',
} as const;

export function toEnrichWeatherConfig(env: z.infer<typeof enrichWeatherSettings>): EnrichWeatherConfig {
  return {
    toleranceMs: env.EAIO_ENRICH_WEATHER_TOLERANCE_HOURS * HOUR_MS,
    maxWaitMs: env.EAIO_ENRICH_WEATHER_MAX_WAIT_MS,
    cacheRetentionMs: env.EAIO_ENRICH_WEATHER_CACHE_HOURS * HOUR_MS,
    maxRecords: env.EAIO_ENRICH_WEATHER_BATCH_RECORDS,
    dbPool: env.EAIO_ENRICH_WEATHER_DB_POOL,
  };
}

export const enrichWeatherDefaults = (): EnrichWeatherConfig => toEnrichWeatherConfig(enrichWeatherSettings.parse({}));
