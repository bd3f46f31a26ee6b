import type { Sql } from 'postgres';
import { describe, expect, it } from 'vitest';
import { guardTransactions, isConnectionLost } from '../../../stages/shared/pg-transactions.js';

/**
 * The shape of postgres.js's `begin` (src/index.js): the callback runs in a scope that sends
 * `rollback` on the transaction's connection when the callback rejects, raced against the
 * connection's close. Sending on a closed connection is what crashes the real client, so here
 * every statement sent after the close is recorded as a crash.
 */
function fakeSql() {
  const sent: string[] = [];
  let closed = false;
  let closeConnection: (error: Error) => void = () => undefined;
  const send = (statement: string) => {
    sent.push(closed ? `CRASH: ${statement} on a closed connection` : statement);
  };
  const scope = async (fn: (tx: unknown) => unknown, tx: Record<string, unknown>, name?: string) => {
    try {
      const result = await fn(tx);
      if (!name) send('commit');
      return result;
    } catch (error) {
      send(name ? `rollback to ${name}` : 'rollback');
      throw error;
    }
  };
  const sql = {
    begin(fn: (tx: unknown) => unknown) {
      const tx: Record<string, unknown> = {};
      tx.savepoint = (inner: (tx: unknown) => unknown) => scope(inner, { savepoint: tx.savepoint }, 's1');
      const onclose = new Promise((_, reject) => {
        closeConnection = reject;
      });
      return Promise.race([scope(fn, tx), onclose]);
    },
  };
  return {
    sql: guardTransactions(sql as unknown as Sql),
    sent,
    /** The server ends the session: the connection closes, postgres.js rejects its `begin`. */
    close(error: Error) {
      closed = true;
      closeConnection(error);
    },
  };
}

const adminShutdown = Object.assign(new Error('terminating connection due to administrator command'), {
  code: '57P01',
  severity: 'FATAL',
});
const closedError = Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' });

describe('guardTransactions', () => {
  it('a lost connection rejects the caller with the original error and sends no rollback on the closed connection', async () => {
    const fake = fakeSql();
    const result = fake.sql.begin(async () => {
      fake.close(closedError); // postgres.js: closed() nulls the socket, then rejects the query
      throw closedError;
    });
    await expect(result).rejects.toBe(closedError);
    await new Promise((r) => setTimeout(r, 10));
    expect(fake.sent).toEqual([]);
  });

  it('a FATAL server error (admin shutdown) counts as a lost connection even before the socket closes', async () => {
    const fake = fakeSql();
    const result = fake.sql.begin(async () => {
      throw adminShutdown;
    });
    await expect(result).rejects.toBe(adminShutdown);
    fake.close(closedError);
    await new Promise((r) => setTimeout(r, 10));
    expect(fake.sent).toEqual([]);
  });

  it('an error that leaves the connection alive is rolled back as usual', async () => {
    const fake = fakeSql();
    const unique = Object.assign(new Error('duplicate key'), { code: '23505', severity: 'ERROR' });
    await expect(
      fake.sql.begin(async () => {
        throw unique;
      }),
    ).rejects.toBe(unique);
    expect(fake.sent).toEqual(['rollback']);
  });

  it('a successful transaction commits and returns its value', async () => {
    const fake = fakeSql();
    await expect(fake.sql.begin(async () => 42)).resolves.toBe(42);
    expect(fake.sent).toEqual(['commit']);
  });

  it('guards savepoints too: no "rollback to" on a closed connection', async () => {
    const fake = fakeSql();
    const result = fake.sql.begin(async (tx) =>
      (tx as { savepoint: (fn: () => Promise<never>) => Promise<unknown> }).savepoint(async () => {
        fake.close(closedError);
        throw closedError;
      }),
    );
    await expect(result).rejects.toBe(closedError);
    await new Promise((r) => setTimeout(r, 10));
    expect(fake.sent).toEqual([]);
  });
});

describe('isConnectionLost', () => {
  it.each([
    [{ code: '57P01', severity: 'FATAL' }, true],
    [{ code: 'XX000', severity: 'PANIC' }, true],
    [{ code: '08006', severity: 'ERROR' }, true],
    [{ code: 'CONNECTION_CLOSED' }, true],
    [{ code: 'CONNECTION_DESTROYED' }, true],
    [{ code: 'ECONNRESET' }, true],
    [{ code: 'EPIPE' }, true],
    [{ code: '57014', severity: 'ERROR' }, false], // statement timeout: the session lives on
    [{ code: '40001', severity: 'ERROR' }, false],
    [{ code: '23505', severity: 'ERROR' }, false],
    [new TypeError('x'), false],
    [null, false],
  ])('%o → %s', (error, lost) => {
    expect(isConnectionLost(error)).toBe(lost);
  });
});
