/**
 * A guard around postgres.js transactions for a server that goes away (restart, failover).
 *
 * postgres.js 3.4.x (up to 3.4.10; porsager/postgres#1154, #1066, open fix #1168) crashes the
 * process with an uncatchable `TypeError: Cannot read properties of null (reading 'write')` when a
 * query is sent on a connection that has already closed: its `closed()` sets the socket to null,
 * then `execute()` buffers the query and schedules `nextWrite` with setImmediate, which calls
 * `socket.write` on null outside any promise. Inside `sql.begin`, that happens on every lost
 * connection: the failed query rejects the callback, and postgres.js's transaction scope then
 * sends `rollback` on the same, closed connection.
 *
 * The guard keeps that rollback from being sent: when the callback fails because the connection
 * is gone, it hands postgres.js a promise that never settles (so its scope never reaches the
 * rollback; the server has already discarded the transaction with the session) and rejects the
 * caller's promise itself, with the original error, at once. Errors that leave the connection
 * alive (constraint violations, a cancelled statement) pass through untouched, so postgres.js
 * rolls back as usual and the connection returns to the pool.
 */
import type { Sql, TransactionSql } from 'postgres';

/** postgres.js's own codes for a connection that is closed or never came up. */
const CLOSED_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT']);
/** Socket errors after which Node closes the socket. */
const SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Whether the session that raised `error` is certainly over: a FATAL or PANIC server error (the
 * server ends the session after sending it: admin shutdown, crash shutdown, terminated backend),
 * SQLSTATE class 08, postgres.js's closed-connection codes, or a socket error.
 */
export function isConnectionLost(error: unknown): boolean {
  const e = error as { code?: unknown; severity?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.severity === 'FATAL' || e.severity === 'PANIC') return true;
  const code = typeof e.code === 'string' ? e.code : '';
  return code.startsWith('08') || CLOSED_CODES.has(code) || SOCKET_CODES.has(code);
}

// biome-ignore lint/suspicious/noExplicitAny: postgres.js's begin/savepoint overloads, re-typed by the caller
type AnyFn = (...args: any[]) => any;

/** Wraps a transaction callback: a lost connection rejects `lost` instead of the callback. */
function guardCallback(fn: AnyFn, lost: (error: unknown) => void): AnyFn {
  return (tx: TransactionSql) => {
    guardSavepoints(tx, lost);
    let result: unknown;
    try {
      result = fn(tx);
    } catch (error) {
      result = Promise.reject(error);
    }
    return Promise.resolve(Array.isArray(result) ? Promise.all(result) : result).catch((error: unknown) => {
      if (!isConnectionLost(error)) throw error;
      lost(error);
      return new Promise(() => undefined);
    });
  };
}

/** A savepoint's scope rolls back on its connection too, so it gets the same guard. */
function guardSavepoints(tx: TransactionSql, lost: (error: unknown) => void): void {
  const savepoint = tx.savepoint.bind(tx) as AnyFn;
  (tx as { savepoint: AnyFn }).savepoint = (...args: unknown[]) => {
    const fn = args.pop() as AnyFn;
    return savepoint(...args, guardCallback(fn, lost));
  };
}

/** Installs the guard on `sql.begin` (in place) and returns `sql`. */
export function guardTransactions(sql: Sql): Sql {
  const begin = sql.begin.bind(sql) as AnyFn;
  (sql as { begin: AnyFn }).begin = (...args: unknown[]) => {
    const fn = args.pop() as AnyFn;
    let lost!: (error: unknown) => void;
    const connectionLost = new Promise<never>((_, reject) => {
      lost = reject;
    });
    // Whichever settles first; the other one's later rejection is handled by the race.
    return Promise.race([begin(...args, guardCallback(fn, lost)), connectionLost]);
  };
  return sql;
}
