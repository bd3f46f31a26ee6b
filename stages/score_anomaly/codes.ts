import type { StageCodes } from '../../pipeline/index.js';

/**
 * None beyond the runtime's: a reading is never rejected for being hard to score (a cold meter
 * gets a low-confidence score, missing weather is a normal input), and it never waits.
 */
export const scoreAnomalyCodes = {} as const satisfies StageCodes;
