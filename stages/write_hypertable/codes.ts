import type { StageCodes } from '../../pipeline/index.js';
import { PG_DEAD_LETTER_CODES, PG_DEAD_LETTER_KINDS } from '../shared/pg-errors.js';

/** A reading whose row PostgreSQL rejects alone (a data or constraint error) is dead-lettered by SQLSTATE. */
export const writeHypertableCodes = {
  deadLetterCodes: PG_DEAD_LETTER_CODES,
  deadLetterKinds: PG_DEAD_LETTER_KINDS,
} as const satisfies StageCodes;
