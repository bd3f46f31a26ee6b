/**
 * PostgreSQL at start-up: a worker waits for it (a database that restarts, or starts after the
 * workers in a container deployment), a one-shot command fails at once; both say the same line.
 */
import type { Sql } from 'postgres';
import type { StageContext } from '../../pipeline/index.js';
import { ServiceUnreachableError, waitUntilReachable } from '../../pipeline/index.js';
import { isConnectionLost } from './pg-transactions.js';

/** SQLSTATEs of a server that is up but not accepting sessions yet (starting, shutting down, recovering). */
const NOT_READY_STATES = new Set(['57P01', '57P02', '57P03']);

/** host:port/db of the pool (never the credentials). */
export function postgresAddress(sql: Sql): string {
  const { host, port, database } = sql.options as { host?: string[]; port?: number[]; database?: string };
  const hosts = (host ?? []).map((h, i) => `${h}:${port?.[i] ?? port?.[0] ?? 5432}`).join(',');
  return `${hosts || '(unknown host)'}${database ? `/${database}` : ''}`;
}

/** Why PostgreSQL cannot be reached, or undefined if `error` is something else (bad password, no such database, SQL). */
export function postgresUnreachableReason(error: unknown): string | undefined {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (!isConnectionLost(error) && !NOT_READY_STATES.has(code) && code !== 'ENOTFOUND' && code !== 'EAI_AGAIN')
    return undefined;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  // postgres.js words its own codes as "write CONNECT_TIMEOUT host:port".
  return message.replace(/^write /, '');
}

/** The one-line error for a one-shot command, or undefined when `error` is not about reaching the server. */
export function asPostgresUnreachable(error: unknown, sql: Sql): ServiceUnreachableError | undefined {
  if (error instanceof ServiceUnreachableError) return error;
  const reason = postgresUnreachableReason(error);
  return reason === undefined
    ? undefined
    : new ServiceUnreachableError('PostgreSQL', postgresAddress(sql), reason, { cause: error });
}

/**
 * Waits until `sql` answers `SELECT 1`, retrying with backoff for EAIO_STARTUP_WAIT_S (0 = for
 * ever; the stage passes `clients.startupWaitMs`), one log line per attempt; then a ServiceUnreachableError. A stage
 * calls it first thing in `init`; without a pool (a test that passes its own data) it does nothing.
 */
/** EAIO_STARTUP_WAIT_S's default, for a stage built without clients (tests that pass their own pool). */
const DEFAULT_STARTUP_WAIT_MS = 60_000;

export async function waitForPostgres(
  sql: Sql | undefined,
  ctx: Pick<StageContext, 'log' | 'signal'>,
  options: { waitMs?: number } = {},
): Promise<void> {
  if (!sql) return;
  await waitUntilReachable(() => sql`SELECT 1`.execute(), postgresUnreachableReason, {
    service: 'PostgreSQL',
    address: postgresAddress(sql),
    waitMs: options.waitMs ?? DEFAULT_STARTUP_WAIT_MS,
    log: ctx.log,
    signal: ctx.signal,
  });
}
