import type { DeadLetterKind } from '../../pipeline/index.js';

/**
 * What a PostgreSQL error means for the record that caused it, decided from its SQLSTATE class
 * (https://www.postgresql.org/docs/15/errcodes-appendix.html):
 * - 08 connection, 40 transaction rollback (serialization, deadlock), 53 insufficient resources,
 *   57 operator intervention (admin shutdown, query canceled), 58 system error → transient: retry.
 * - 22 data exception, 23 integrity constraint violation → this record is bad: dead letter it.
 * - 42 syntax error or access rule violation (undefined table/column, permissions) and anything
 *   else → the deployment is wrong: stop the worker rather than dead-letter good data.
 */
export type PgDisposition = 'retry' | 'dead_letter' | 'fatal';

const RETRY_CLASSES = new Set(['08', '40', '53', '57', '58']);
const DEAD_LETTER_CLASSES = new Set(['22', '23']);

/** Node socket errors seen when the server goes away mid-query. */
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/**
 * The error's SQLSTATE, if it is a server error. Node's system errors (they carry `syscall`) and
 * the socket codes above are not, though `EPIPE` has the shape of one (it would read as class
 * `EP`, and a lost connection as a wrong deployment).
 */
export function sqlState(error: unknown): string | undefined {
  const e = error as { code?: unknown; syscall?: unknown } | null;
  const code = e?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  if (TRANSIENT_NODE_CODES.has(code) || e?.syscall !== undefined) return undefined;
  return code;
}

export function classifyPgError(error: unknown): PgDisposition {
  const state = sqlState(error);
  if (state) {
    const errorClass = state.slice(0, 2);
    if (RETRY_CLASSES.has(errorClass)) return 'retry';
    if (DEAD_LETTER_CLASSES.has(errorClass)) return 'dead_letter';
    return 'fatal';
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TRANSIENT_NODE_CODES.has(code)) return 'retry';
  return 'fatal';
}

/**
 * Dead-letter codes of data and constraint errors: `pg_<SQLSTATE>` for the states an insert of
 * typed rows can raise (PostgreSQL 15, appendix A), and the class's generic state for the rest
 * of its class (the message keeps PostgreSQL's own text).
 */
export const PG_DEAD_LETTER_CODES = [
  'pg_22000', // data_exception (any other in class 22)
  'pg_22001', // string_data_right_truncation
  'pg_22003', // numeric_value_out_of_range
  'pg_22004', // null_value_not_allowed
  'pg_22007', // invalid_datetime_format
  'pg_22008', // datetime_field_overflow
  'pg_22021', // character_not_in_repertoire
  'pg_22P01', // floating_point_exception
  'pg_22P02', // invalid_text_representation
  'pg_22P05', // untranslatable_character
  'pg_23000', // integrity_constraint_violation (any other in class 23)
  'pg_23502', // not_null_violation
  'pg_23503', // foreign_key_violation
  'pg_23505', // unique_violation
  'pg_23514', // check_violation
] as const;

export type PgDeadLetterCode = (typeof PG_DEAD_LETTER_CODES)[number];

/**
 * Each code by what fixes it (pipeline/codes.ts `DeadLetterKind`). Environment: a foreign key to
 * a site or meter not imported yet, and a check violation, which on plain PostgreSQL is also a
 * month without a partition of `meter_readings` (the tables have no other check a validated row
 * can break). Every other data or constraint error is the record's own.
 */
export const PG_DEAD_LETTER_KINDS = {
  pg_22000: 'content',
  pg_22001: 'content',
  pg_22003: 'content',
  pg_22004: 'content',
  pg_22007: 'content',
  pg_22008: 'content',
  pg_22021: 'content',
  pg_22P01: 'content',
  pg_22P02: 'content',
  pg_22P05: 'content',
  pg_23000: 'content',
  pg_23502: 'content',
  pg_23503: 'environment',
  pg_23505: 'content',
  pg_23514: 'environment',
} as const satisfies Record<PgDeadLetterCode, DeadLetterKind>;

const listedPgCodes: ReadonlySet<string> = new Set(PG_DEAD_LETTER_CODES);
const isPgDeadLetterCode = (code: string): code is PgDeadLetterCode => listedPgCodes.has(code);

/** The dead-letter code of a data or constraint error (`classifyPgError` says `dead_letter`), else undefined. */
export function pgDeadLetterCode(error: unknown): PgDeadLetterCode | undefined {
  if (classifyPgError(error) !== 'dead_letter') return undefined;
  const state = sqlState(error) as string;
  const code = `pg_${state}`;
  return isPgDeadLetterCode(code) ? code : state.startsWith('22') ? 'pg_22000' : 'pg_23000';
}
