import { z } from 'zod';

/** Settings of the validate stage, read from its own environment variables. */
export const validateSettings = z.object({
  EAIO_VALIDATE_BATCH_RECORDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(20_000)
    .default(1_000)
    .describe('Most records per process call (duplicates are detected within one call).'),
  EAIO_VALIDATE_CATALOG_REFRESH_S: z.coerce
    .number()
    .min(1)
    .max(86_400)
    .default(300)
    .describe('The catalog of buildings and meters is reloaded from PostgreSQL when it is older than this.'),
  EAIO_VALIDATE_CATALOG_MISS_REFRESH_S: z.coerce
    .number()
    .min(0)
    .max(86_400)
    .default(10)
    .describe(
      'An unknown building or meter triggers a reload, at most once per this many seconds (0 = on every miss).',
    ),
  EAIO_VALIDATE_FUTURE_SKEW_S: z.coerce
    .number()
    .min(0)
    .max(86_400)
    .default(900)
    .describe("How far after the worker's clock a reading's hour may start (producer clock skew)."),
  EAIO_VALIDATE_DB_POOL: z.coerce
    .number()
    .int()
    .min(1)
    .max(16)
    .default(1)
    .describe('PostgreSQL connections of the stage (it only reloads the catalog).'),
});

export interface ValidateConfig {
  readonly maxRecords: number;
  readonly catalogRefreshMs: number;
  readonly catalogMissRefreshMs: number;
  readonly futureSkewMs: number;
  readonly dbPool: number;
}

export function toValidateConfig(env: z.infer<typeof validateSettings>): ValidateConfig {
  return {
    maxRecords: env.EAIO_VALIDATE_BATCH_RECORDS,
    catalogRefreshMs: env.EAIO_VALIDATE_CATALOG_REFRESH_S * 1_000,
    catalogMissRefreshMs: env.EAIO_VALIDATE_CATALOG_MISS_REFRESH_S * 1_000,
    futureSkewMs: env.EAIO_VALIDATE_FUTURE_SKEW_S * 1_000,
    dbPool: env.EAIO_VALIDATE_DB_POOL,
  };
}

export const validateDefaults = (): ValidateConfig => toValidateConfig(validateSettings.parse({}));
