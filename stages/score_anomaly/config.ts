import { z } from 'zod';
import { resolveModelPath } from '../shared/model-path.js';
import { DEFAULT_THRESHOLD } from './model.js';

/** The committed model, relative to the EAIO installation. */
export const COMMITTED_MODEL = 'models/anomaly/anomaly.onnx';

/** Settings of the score_anomaly stage, read from its own environment variables. */
export const scoreAnomalySettings = z.object({
  EAIO_SCORE_ANOMALY_MODEL: z
    .string()
    .min(1)
    .default(COMMITTED_MODEL)
    .describe(
      'ONNX anomaly model (its contract: models/anomaly/MODEL_CARD.md). A relative path is looked up in the current directory, then in the EAIO installation.',
    ),
  EAIO_SCORE_ANOMALY_THRESHOLD: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(DEFAULT_THRESHOLD)
    .describe('A reading whose anomaly score is at least this is flagged (is_anomaly) and alerted.'),
  EAIO_SCORE_ANOMALY_COLD_CONFIDENCE: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.25)
    .describe(
      "A score resting on less history than this (share of the meter's past 7 days with a reading) is marked cold_start.",
    ),
  EAIO_SCORE_ANOMALY_BATCH_RECORDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(20_000)
    .default(2_000)
    .describe('Most records per process call, scored in one inference.'),
  EAIO_SCORE_ANOMALY_CATALOG_REFRESH_S: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(300)
    .describe("How often the buildings' static attributes (time zone, primary use, area) are reloaded."),
  EAIO_SCORE_ANOMALY_DB_POOL: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(2)
    .describe('PostgreSQL connections of the stage (history rebuilds and the catalog).'),
  EAIO_SCORE_ANOMALY_REBUILD_WAIT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(10_000)
    .describe(
      "After a restart or rebalance, how long a partition's history rebuild waits for write_hypertable (another consumer group) to store the readings scored before it; then it is rebuilt from what is stored. 0: no wait. Chained with the writer there is none.",
    ),
});

export interface ScoreAnomalyConfig {
  readonly modelPath: string;
  readonly threshold: number;
  readonly coldConfidence: number;
  readonly maxRecords: number;
  readonly catalogRefreshMs: number;
  readonly dbPool: number;
  readonly rebuildWaitMs: number;
}

export function toScoreAnomalyConfig(env: z.infer<typeof scoreAnomalySettings>): ScoreAnomalyConfig {
  return {
    modelPath: resolveModelPath(env.EAIO_SCORE_ANOMALY_MODEL),
    threshold: env.EAIO_SCORE_ANOMALY_THRESHOLD,
    coldConfidence: env.EAIO_SCORE_ANOMALY_COLD_CONFIDENCE,
    maxRecords: env.EAIO_SCORE_ANOMALY_BATCH_RECORDS,
    catalogRefreshMs: env.EAIO_SCORE_ANOMALY_CATALOG_REFRESH_S * 1000,
    dbPool: env.EAIO_SCORE_ANOMALY_DB_POOL,
    rebuildWaitMs: env.EAIO_SCORE_ANOMALY_REBUILD_WAIT_MS,
  };
}

export const scoreAnomalyDefaults = (): ScoreAnomalyConfig => toScoreAnomalyConfig(scoreAnomalySettings.parse({}));
