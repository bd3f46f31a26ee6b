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

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
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

/** A stable, bounded dead-letter code from a SQLSTATE, e.g. `pg_23505`. */
export function pgDeadLetterCode(error: unknown): string {
  return `pg_${sqlState(error) ?? 'unknown'}`;
}
