import type { StageCodes } from '../../pipeline/index.js';

/** Deferred while write_hypertable has not stored what a partition's history rebuild needs (writer-lag.ts). */
export const HISTORY_NOT_STORED = 'history_not_stored';

/**
 * No dead-letter code or skip reason beyond the runtime's: a reading is never rejected for being
 * hard to score (a cold meter gets a low-confidence score, missing weather is a normal input). A
 * partition's first batch after an assignment may wait, bounded, for the writer (HISTORY_NOT_STORED).
 */
export const scoreAnomalyCodes = {
  deferReasons: [HISTORY_NOT_STORED],
} as const satisfies StageCodes;
