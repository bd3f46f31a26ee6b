/**
 * The dead-letter workflow as a user runs it, on the real broker and a throw-away PostgreSQL
 * database: list, replay (twice, --code, --again, --include-content), export and status.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHandled, markHandled, pruneHandled, stateOf } from '../../../cli/dlq-handled.js';
import { EAIO_NODE_FLAGS } from '../../../cli/node-flags.js';
import { KafkaBroker } from '../../../pipeline/broker-kafka.js';
import { buildDeadLetter } from '../../../pipeline/dlq.js';
import { migrate } from '../../../sql/migrate.js';
import { createTestDatabase, type TestDatabase } from '../data/test-database.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const prefix = `t${randomUUID().slice(0, 8)}`;
const rawTopic = `${prefix}.readings.raw.v1`;
const dlqTopic = `${prefix}.dlq.validate.v1`;
const broker = new KafkaBroker({ brokers, clientId: 'eaio-test', log: pino({ level: 'silent' }) });
let db: TestDatabase;

const reading = (building: string, time: string) => ({
  schema_version: 1,
  meter_id: `${building}:electricity`,
  building_id: building,
  meter_type: 'electricity',
  time,
  value: 46.2,
  unit: 'kWh',
  source: 'test',
});

/** Four rejected readings: two of an unknown building (environment), two whose content is wrong. */
const rejected = [
  { value: JSON.stringify(reading('Nowhere_A', '2017-03-12T07:00:00Z')), code: 'unknown_building' },
  { value: JSON.stringify(reading('Nowhere_B', '2017-03-12T07:00:00Z')), code: 'unknown_building' },
  { value: JSON.stringify(reading('Panther_office_Karla', '2017-03-12 03:00:00')), code: 'timestamp_missing_offset' },
  { value: '2017-03-12 03:00:00,Panther_office_Karla,46.2', code: 'invalid_json' },
];

async function eaio(...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [...EAIO_NODE_FLAGS, 'bin/eaio.mjs', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: db.url, EAIO_TOPIC_PREFIX: prefix, LOG_LEVEL: 'error' },
        timeout: 60_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const rawCount = async () => (await broker.readTopic(rawTopic)).length;
const states = async () =>
  (await eaio('dlq', 'list', 'validate', '--json')).stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { code: string; state: string })
    .map((e) => `${e.code}:${e.state}`);

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.sql);
  const admin = broker.kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [rawTopic, dlqTopic].map((topic) => ({ topic, numPartitions: 1 })),
  });
  await admin.disconnect();
  const producer = broker.producer();
  await producer.connect();
  await producer.send(
    rejected.map((r, i) =>
      buildDeadLetter(
        'validate',
        dlqTopic,
        {
          topic: rawTopic,
          partition: 0,
          offset: String(100 + i),
          key: Buffer.from('m'),
          value: Buffer.from(r.value),
          headers: { 'x-origin': Buffer.from('gateway-7') },
          timestamp: Date.now(),
        },
        { code: r.code, message: `why ${r.code}`, attempts: 1 },
      ),
    ),
  );
  await producer.disconnect();
});

afterAll(async () => {
  const admin = broker.kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [rawTopic, dlqTopic] }).catch(() => undefined);
  await admin.disconnect();
  await db?.drop();
});

describe('eaio dlq on the real broker and PostgreSQL', () => {
  it('lists every entry as pending and status counts them', async () => {
    const list = await eaio('dlq', 'list', 'validate');
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines.slice(0, 4)) expect(line).toMatch(/^\S+Z {2}pending {3}\S/);
    expect(lines[4]).toBe(`4 dead letter(s) in ${dlqTopic}: 4 pending`);
    const status = await eaio('status', 'validate');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^validate +lag=\d+ members=0 dlq=4 dlq_pending=4 /m);
  });

  it('--code replays only that code, and a second replay sends nothing', async () => {
    const first = await eaio('dlq', 'replay', 'validate', '--code', 'unknown_building');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(`replayed 2 dead letter(s) from ${dlqTopic}`);
    expect(first.stderr).toBe('');
    const sent = await broker.readTopic(rawTopic);
    expect(sent.map((r) => r.value?.toString())).toEqual([rejected[0]?.value, rejected[1]?.value]);
    expect(sent[0]?.headers['x-origin']?.toString()).toBe('gateway-7');
    expect(sent[0]?.headers['x-dlq-replayed-at']).toBeDefined();

    const second = await eaio('dlq', 'replay', 'validate', '--code', 'unknown_building');
    expect(second.stdout.trim()).toBe(
      `replayed 0 dead letter(s) from ${dlqTopic}; 2 already handled (--again sends them again)`,
    );
    expect(await rawCount()).toBe(2);
  });

  it('a replay of everything leaves the content entries, with one warning per code', async () => {
    const all = await eaio('dlq', 'replay', 'validate');
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trim()).toBe(
      `replayed 0 dead letter(s) from ${dlqTopic}; 2 already handled (--again sends them again), 2 left for correction`,
    );
    expect(all.stderr.trim().split('\n')).toEqual([
      '1 timestamp_missing_offset not replayed: their content is the cause, validate would reject them again',
      '1 invalid_json not replayed: their content is the cause, validate would reject them again',
      'correct them instead: eaio dlq export validate --code <code> --pending --mark > fix.jsonl, edit fix.jsonl, eaio publish fix.jsonl (or send them anyway with --include-content)',
    ]);
    expect(await rawCount()).toBe(2);
    expect(await states()).toEqual([
      'unknown_building:replayed',
      'unknown_building:replayed',
      'timestamp_missing_offset:pending',
      'invalid_json:pending',
    ]);
  });

  it('--again sends replayed entries once more', async () => {
    const again = await eaio('dlq', 'replay', 'validate', '--code', 'unknown_building', '--again');
    expect(again.stdout.trim()).toBe(`replayed 2 dead letter(s) from ${dlqTopic}`);
    expect(await rawCount()).toBe(4);
    const [times] = await db.sql<{ n: number }[]>`SELECT max(times)::int AS n FROM dlq_handled`;
    expect(times?.n).toBe(2);
  });

  it('export writes {value, headers} lines of JSON payloads, counts the rest, and --mark takes them off pending', async () => {
    const exported = await eaio('dlq', 'export', 'validate', '--pending', '--mark');
    expect(exported.code, exported.stderr).toBe(0);
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(Object.keys(lines[0] as object)).toEqual(['value', 'headers']);
    expect(lines[0]?.value).toEqual(JSON.parse(rejected[2]?.value as string));
    expect(lines[0]?.headers).toMatchObject({
      'x-origin': 'gateway-7',
      'x-dlq-code': 'timestamp_missing_offset',
      'x-dlq-source-topic': rawTopic,
      'x-dlq-source-offset': '102',
    });
    expect(exported.stderr).toMatch(/^left out 1 \(invalid_json 1\): the value is not UTF-8 JSON/m);
    expect(exported.stderr).toContain(`exported 1 dead letter(s) from ${dlqTopic}, marked as exported`);
    expect(await states()).toEqual([
      'unknown_building:replayed',
      'unknown_building:replayed',
      'timestamp_missing_offset:exported',
      'invalid_json:pending',
    ]);
    const status = await eaio('status', 'validate');
    expect(status.stdout).toMatch(/^validate +lag=\d+ members=0 dlq=4 dlq_pending=1 /m);
  });

  it('--include-content sends the last pending one with a warning; then nothing is pending', async () => {
    const forced = await eaio('dlq', 'replay', 'validate', '--include-content');
    expect(forced.stdout.trim()).toBe(
      `replayed 1 dead letter(s) from ${dlqTopic}; 3 already handled (--again sends them again)`,
    );
    expect(forced.stderr).toMatch(/^1 invalid_json replayed although their content is the cause/m);
    expect((await broker.readTopic(rawTopic)).at(-1)?.value?.toString()).toBe(rejected[3]?.value);
    const status = await eaio('status', 'validate');
    expect(status.stdout).toMatch(/dlq=4 dlq_pending=0 /);
    const pending = await eaio('dlq', 'list', 'validate', '--pending');
    expect(pending.stdout.trim()).toBe(`0 dead letter(s) in ${dlqTopic}`);
  });
});

describe('dlq_handled claims', () => {
  const topic = `${prefix}.dlq.claims.v1`;
  const entry = (offset: string, failedAt = '2024-01-01T00:00:00.000Z') => ({
    dlqPartition: 0,
    dlqOffset: offset,
    failedAt,
  });

  it('gives each entry to one of two replays running at once', async () => {
    const entries = [entry('1'), entry('2'), entry('3')];
    const [a, b] = await Promise.all([
      db.sql.begin((tx) => markHandled(tx, topic, entries, 'replayed', false)),
      db.sql.begin((tx) => markHandled(tx, topic, entries, 'replayed', false)),
    ]);
    expect([...(a as Set<string>), ...(b as Set<string>)].sort()).toEqual(['0@1', '0@2', '0@3']);
    expect((await markHandled(db.sql, topic, entries, 'replayed', false)).size).toBe(0);
  });

  it('takes over the row of an earlier entry at the same offset (the topic was re-created)', async () => {
    const later = entry('2', '2025-06-01T00:00:00.000Z');
    const handled = await loadHandled(db.sql, topic);
    expect(stateOf(later, handled)).toBe('pending');
    expect([...(await markHandled(db.sql, topic, [later], 'exported', false))]).toEqual(['0@2']);
    expect(stateOf(later, await loadHandled(db.sql, topic))).toBe('exported');
  });

  it('forgets rows below a partition start (retention) or of a partition gone, and keeps rows past the end it saw', async () => {
    const topic = `${prefix}.dlq.prune.v1`;
    const entries = [0, 1, 2, 3, 9].map((offset) => ({ dlqPartition: 0, dlqOffset: String(offset), failedAt: 'x' }));
    await markHandled(
      db.sql,
      topic,
      [...entries, { dlqPartition: 1, dlqOffset: '0', failedAt: 'x' }],
      'replayed',
      false,
    );
    // Partition 0 now starts at 2 and ended at 4 when this command looked; partition 1 is gone.
    await pruneHandled(db.sql, topic, [{ partition: 0, low: '2', high: '4' }]);
    expect([...(await loadHandled(db.sql, topic)).keys()].sort()).toEqual(['0@2', '0@3', '0@9']);
  });
});
