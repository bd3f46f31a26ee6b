import type { StageCodes } from '../../pipeline/index.js';

/**
 * `late_reading`: its local day ended more than grace + retention before the partition's
 * watermark, so that day's vector is final. A Milvus row the server refuses is dead-lettered by the
 * runtime (the batch is re-run record by record), with no code of this stage's own.
 */
export const EMBED_SKIP_REASONS = ['late_reading'] as const;
export type EmbedSkipReason = (typeof EMBED_SKIP_REASONS)[number];

/** The alert's own hour is not in meter_readings yet (the writer is another group): bounded. */
export const EMBED_DEFER_REASONS = ['anomaly_window_not_stored'] as const;

export const embedProfilesCodes = {
  skipReasons: EMBED_SKIP_REASONS,
  deferReasons: EMBED_DEFER_REASONS,
} as const satisfies StageCodes;
