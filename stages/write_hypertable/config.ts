import { z } from 'zod';
import { TOPICS } from '../../domain/topics.js';

/** Settings of the write_hypertable stage, read from its own environment variables. */
export const writeHypertableSettings = z.object({
  EAIO_WRITE_HYPERTABLE_INPUT_TOPIC: z
    .string()
    .regex(/^[a-zA-Z0-9._-]+$/, 'a logical topic name, e.g. readings.scored.v1')
    .default(TOPICS.readingsEnriched)
    .describe(
      'Logical topic the writer stores (readings.enriched.v1 now; readings.scored.v1 once score_anomaly runs).',
    ),
  EAIO_WRITE_HYPERTABLE_BATCH_RECORDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(20_000)
    .default(2_000)
    .describe('Most readings per transaction.'),
  EAIO_WRITE_HYPERTABLE_MAINTENANCE_CRON: z
    .string()
    .default('* * * * *')
    .describe(
      'node-cron schedule of the maintenance the writer runs: monthly partitions ahead and refresh of meter_readings_hourly/daily (plain PostgreSQL; no-op with TimescaleDB). "off" disables it.',
    ),
  EAIO_WRITE_HYPERTABLE_DB_POOL: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe('PostgreSQL connections of the stage.'),
});

export interface WriteHypertableConfig {
  readonly inputTopic: string;
  readonly maxRecords: number;
  readonly dbPool: number;
  /** undefined: no maintenance job in this worker. */
  readonly maintenanceCron: string | undefined;
}

/** The names these settings had before every stage setting was `EAIO_<STAGE>_*`. */
export const writeHypertableAliases = {
  EAIO_WRITER_INPUT_TOPIC: 'EAIO_WRITE_HYPERTABLE_INPUT_TOPIC',
  EAIO_WRITER_BATCH_RECORDS: 'EAIO_WRITE_HYPERTABLE_BATCH_RECORDS',
  EAIO_WRITER_MAINTENANCE_CRON: 'EAIO_WRITE_HYPERTABLE_MAINTENANCE_CRON',
  EAIO_WRITER_DB_POOL: 'EAIO_WRITE_HYPERTABLE_DB_POOL',
} as const;

export function toWriteHypertableConfig(env: z.infer<typeof writeHypertableSettings>): WriteHypertableConfig {
  return {
    inputTopic: env.EAIO_WRITE_HYPERTABLE_INPUT_TOPIC,
    maxRecords: env.EAIO_WRITE_HYPERTABLE_BATCH_RECORDS,
    dbPool: env.EAIO_WRITE_HYPERTABLE_DB_POOL,
    maintenanceCron:
      env.EAIO_WRITE_HYPERTABLE_MAINTENANCE_CRON === 'off' ? undefined : env.EAIO_WRITE_HYPERTABLE_MAINTENANCE_CRON,
  };
}

export const writeHypertableDefaults = (): WriteHypertableConfig =>
  toWriteHypertableConfig(writeHypertableSettings.parse({}));
