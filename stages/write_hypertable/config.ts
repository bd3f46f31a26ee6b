import { z } from 'zod';
import { TOPICS } from '../../domain/topics.js';

/** Settings of the write_hypertable stage, read from its own environment variables. */
export const writeHypertableSettings = z.object({
  EAIO_WRITE_HYPERTABLE_INPUT_TOPIC: z
    .string()
    .regex(/^[a-zA-Z0-9._-]+$/, 'a logical topic name, e.g. readings.scored.v1')
    .default(TOPICS.readingsScored)
    .describe(
      "Logical topic the writer stores: score_anomaly's readings.scored.v1, or readings.enriched.v1 to store readings unscored.",
    ),
  EAIO_WRITE_HYPERTABLE_BATCH_RECORDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(20_000)
    .default(2_000)
    .describe('Most readings per transaction.'),
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
}

/** The names these settings had before every stage setting was `EAIO_<STAGE>_*`. */
export const writeHypertableAliases = {
  EAIO_WRITER_INPUT_TOPIC: 'EAIO_WRITE_HYPERTABLE_INPUT_TOPIC',
  EAIO_WRITER_BATCH_RECORDS: 'EAIO_WRITE_HYPERTABLE_BATCH_RECORDS',
  EAIO_WRITER_DB_POOL: 'EAIO_WRITE_HYPERTABLE_DB_POOL',
} as const;

export function toWriteHypertableConfig(env: z.infer<typeof writeHypertableSettings>): WriteHypertableConfig {
  return {
    inputTopic: env.EAIO_WRITE_HYPERTABLE_INPUT_TOPIC,
    maxRecords: env.EAIO_WRITE_HYPERTABLE_BATCH_RECORDS,
    dbPool: env.EAIO_WRITE_HYPERTABLE_DB_POOL,
  };
}

export const writeHypertableDefaults = (): WriteHypertableConfig =>
  toWriteHypertableConfig(writeHypertableSettings.parse({}));
