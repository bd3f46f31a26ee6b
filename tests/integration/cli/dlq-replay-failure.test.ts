/**
 * `eaio dlq replay` failing part-way, on the real PostgreSQL: a send that fails leaves its batch
 * and every later one pending while the batches acknowledged before it stay recorded; a commit
 * that fails after its send leaves that batch pending too (sent once more by the next replay: at
 * least once, never lost).
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeadLetterEntry, ReplayInterrupted, sendAndRecord } from '../../../cli/dlq-replay.js';
import { buildDeadLetter, readDeadLetter } from '../../../pipeline/dlq.js';
import type { ProduceRecord, ProducerPort } from '../../../pipeline/index.js';
import { migrate } from '../../../sql/migrate.js';
import { createTestDatabase, type TestDatabase } from '../data/test-database.js';

const DLQ = 'pipe.dlq.validate';
let db: TestDatabase;
let replaySql: postgres.Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.sql);
  replaySql = postgres(db.url, {
    max: 1,
    onnotice: () => undefined,
    connection: { application_name: 'replay-under-test' },
  });
});
afterAll(async () => {
  await replaySql?.end({ timeout: 5 });
  await db?.drop();
});

/** `n` dead letters of one DLQ partition, from offset `first`. */
function entries(n: number, first = 0): DeadLetterEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const offset = String(first + i);
    const letter = buildDeadLetter(
      'validate',
      DLQ,
      {
        topic: 'pipe.readings.raw.v1',
        partition: 0,
        offset: String(1000 + first + i),
        key: Buffer.from('m'),
        value: Buffer.from(`{"n":${first + i}}`),
        headers: {},
        timestamp: 0,
      },
      { code: 'unknown_building', message: 'not in the catalog', attempts: 1 },
      new Date('2026-12-06T08:00:00Z'),
    );
    const headers = Object.fromEntries(
      Object.entries(letter.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(String(v))]),
    );
    const raw = {
      topic: DLQ,
      partition: 0,
      offset,
      key: letter.key as Buffer,
      value: letter.value as Buffer,
      headers,
      timestamp: 0,
    };
    return { raw, view: readDeadLetter(raw) };
  });
}

/** Records what it sends; `onSend(n)` runs before the n-th send (1-based) and may throw. */
function producer(onSend: (n: number) => Promise<void> | void = () => undefined) {
  const sent: ProduceRecord[][] = [];
  let calls = 0;
  const port: ProducerPort = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    async send(records) {
      calls += 1;
      await onSend(calls);
      sent.push([...records]);
    },
  };
  return { port, sent };
}

const recorded = async () =>
  (
    await db.sql<
      { o: string }[]
    >`SELECT dlq_offset::text AS o FROM dlq_handled WHERE dlq_topic = ${DLQ} ORDER BY dlq_offset`
  ).map((r) => Number(r.o));

describe('dlq replay failing part-way', () => {
  it('a failed send leaves its batch and the later ones pending; the next replay sends just those', async () => {
    const all = entries(5);
    const failing = producer((n) => {
      if (n === 2) throw new Error('broker said no');
    });
    const error = await sendAndRecord({
      sql: replaySql,
      producer: failing.port,
      topic: DLQ,
      entries: all,
      again: false,
      batchSize: 2,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplayInterrupted);
    expect((error as ReplayInterrupted).progress).toEqual({ sent: 2, taken: 0 });
    expect((error as ReplayInterrupted).leftPending).toBe(3);
    expect((error as Error).message).toMatch(/broker said no — replayed 2 before it; 3 left pending/);
    expect(await recorded()).toEqual([0, 1]);

    const good = producer();
    expect(
      await sendAndRecord({
        sql: replaySql,
        producer: good.port,
        topic: DLQ,
        entries: all,
        again: false,
        batchSize: 2,
      }),
    ).toEqual({
      sent: 3,
      taken: 2,
    });
    expect(good.sent.flat().map((r) => r.value?.toString())).toEqual(['{"n":2}', '{"n":3}', '{"n":4}']);
    expect(good.sent.flat().every((r) => r.topic === 'pipe.readings.raw.v1')).toBe(true);
    expect(await recorded()).toEqual([0, 1, 2, 3, 4]);
  });

  it('a commit lost after its send leaves that batch pending: sent again next time, never lost', async () => {
    const all = entries(4, 10);
    // The replay's connection dies while the batch is in the broker's hands: its rows roll back.
    const killer = producer(async (n) => {
      if (n === 2)
        await db.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'replay-under-test'`;
    });
    const error = await sendAndRecord({
      sql: replaySql,
      producer: killer.port,
      topic: DLQ,
      entries: all,
      again: false,
      batchSize: 2,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplayInterrupted);
    expect((error as ReplayInterrupted).progress.sent).toBe(2);
    expect(killer.sent.flat()).toHaveLength(4); // the second batch did reach the broker
    expect((await recorded()).filter((o) => o >= 10)).toEqual([10, 11]);

    // As the next `eaio dlq replay` process would: a new connection.
    await replaySql.end({ timeout: 0 });
    replaySql = postgres(db.url, { max: 1, onnotice: () => undefined });
    const good = producer();
    const done = await sendAndRecord({
      sql: replaySql,
      producer: good.port,
      topic: DLQ,
      entries: all,
      again: false,
      batchSize: 2,
    });
    expect(done).toEqual({ sent: 2, taken: 2 });
    expect(good.sent.flat().map((r) => r.value?.toString())).toEqual(['{"n":12}', '{"n":13}']);
    expect((await recorded()).filter((o) => o >= 10)).toEqual([10, 11, 12, 13]);
  });
});
