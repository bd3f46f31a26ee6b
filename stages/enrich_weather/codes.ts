import type { StageCodes } from '../../pipeline/index.js';
import { PG_DEAD_LETTER_CODES, PG_DEAD_LETTER_KINDS } from '../shared/pg-errors.js';

/**
 * An observation PostgreSQL rejects alone is dead-lettered by SQLSTATE; a reading whose site's
 * weather may still come defers its batch. Readings are never dead-lettered for missing weather.
 */
export const enrichWeatherCodes = {
  deadLetterCodes: PG_DEAD_LETTER_CODES,
  deadLetterKinds: PG_DEAD_LETTER_KINDS,
  deferReasons: ['weather_not_arrived'],
} as const satisfies StageCodes;
