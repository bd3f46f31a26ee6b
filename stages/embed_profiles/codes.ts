import type { DeadLetterKind, StageCodes } from '../../pipeline/index.js';

/** A Milvus row the server refuses (a value over a field's length, a vector of the wrong size). */
export const EMBED_DEAD_LETTER_CODES = ['milvus_rejected_row'] as const;
export type EmbedDeadLetterCode = (typeof EMBED_DEAD_LETTER_CODES)[number];
export const EMBED_DEAD_LETTER_KINDS = {
  milvus_rejected_row: 'content',
} as const satisfies Record<EmbedDeadLetterCode, DeadLetterKind>;

/**
 * `late_reading`: its day ended more than grace + retention before the watermark (its vector is
 * final); `anomaly_window_empty`: no reading of the alert's meter in the 24 h before it.
 */
export const EMBED_SKIP_REASONS = ['late_reading', 'anomaly_window_empty'] as const;
export type EmbedSkipReason = (typeof EMBED_SKIP_REASONS)[number];

/** The alert's own hour is not in meter_readings yet (the writer is another group): bounded. */
export const EMBED_DEFER_REASONS = ['anomaly_window_not_stored'] as const;

export const embedProfilesCodes = {
  deadLetterCodes: EMBED_DEAD_LETTER_CODES,
  deadLetterKinds: EMBED_DEAD_LETTER_KINDS,
  skipReasons: EMBED_SKIP_REASONS,
  deferReasons: EMBED_DEFER_REASONS,
} as const satisfies StageCodes;
