/**
 * A worker rides out a PostgreSQL restart, on a private cluster this test starts and stops itself
 * (never the shared one): the whole data path runs in one `eaio run` process while the server is
 * stopped for 10 s mid-stream and started again. Afterwards every reading is stored exactly once.
 * Before the transaction guard (stages/shared/pg-transactions.ts) the process died here of
 * postgres.js's uncatchable `TypeError: Cannot read properties of null (reading 'write')`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, EXACT } from '../e2e/accounting.js';
import { expectedFromBdg2 } from '../e2e/bdg2-expected.js';
import { PIPELINE_STAGES } from '../e2e/e2e-env.js';
import {
  deleteTopics,
  EaioProcesses,
  readDeadLetters,
  readMeterReadings,
  withAdmin,
} from '../e2e/pipeline-processes.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { STACK_FRAME } from './eaio-process.js';

const SAMPLE = 'data/bdg2-sample';
const OUTAGE_MS = 10_000;

let pg: ThrowawayPostgres;
let eaio: EaioProcesses;
let sql: postgres.Sql;

beforeAll(async () => {
  pg = await startThrowawayPostgres();
  eaio = new EaioProcesses(pg.url);
  // Survives the restart: the pool reconnects; queries during the outage fail and are retried below.
  sql = postgres(pg.url, { max: 1, onnotice: () => undefined, connect_timeout: 2 });
  await eaio.runOk(['migrate']);
  await eaio.runOk(['import', '--bdg2', SAMPLE]);
});

afterAll(async () => {
  eaio?.stopAll();
  await sql?.end({ timeout: 1 }).catch(() => undefined);
  if (eaio) await deleteTopics(eaio.prefix).catch(() => undefined);
  await pg?.destroy();
});

async function rowCount(): Promise<number | undefined> {
  try {
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM meter_readings`;
    return row?.n;
  } catch {
    return undefined; // the server is down
  }
}

/** Partitions of the topics the runtime creates (EAIO_TOPIC_PARTITIONS, default 6). */
const PARTITIONS = 6;

async function storedPartitions(group: string): Promise<number> {
  const [row] = await sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM stage_offsets WHERE consumer_group = ${group}`;
  return row?.n ?? 0;
}

describe('PostgreSQL stopped and started again', () => {
  it('at start-up: the worker waits for it with backoff instead of exiting, then starts', async () => {
    await pg.stop();
    const worker = eaio.start(['run', 'validate'], { LOG_LEVEL: 'info', EAIO_STARTUP_WAIT_S: '60' });
    let output = '';
    worker.child.stdout?.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    const deadline = Date.now() + 30_000;
    while (!/"service":"PostgreSQL".*"attempt":2/.test(output)) {
      if (Date.now() > deadline) throw new Error(`no second start-up attempt logged\n${output}`);
      await sleep(50);
    }
    await pg.start();
    while (!output.includes('"msg":"stage started"')) {
      if (Date.now() > deadline + 30_000) throw new Error(`the stage did not start\n${output}`);
      await sleep(50);
    }
    expect(output).toContain('"msg":"catalog loaded"');
    worker.child.kill('SIGTERM');
    const done = await worker.finished;
    expect(done.code, done.stdout + done.stderr).toBe(0);
    expect(done.stdout + done.stderr).not.toMatch(STACK_FRAME);
  });

  it('mid-stream: the worker keeps running, and every reading is stored exactly once', async () => {
    const expected = expectedFromBdg2(SAMPLE, 'raw');
    const total = expected.readings.size;
    // The whole data path in one process, the way `eaio run all` runs it.
    const worker = eaio.start(['run', ...PIPELINE_STAGES], { LOG_LEVEL: 'info' });
    let exited = false;
    void worker.finished.then(() => {
      exited = true;
    });
    const replay = eaio.start(['replay', '--bdg2', SAMPLE, '--variant', 'raw', '--speed', '50']);

    // Mid-stream in the steady state: the writer has stored an offset for every input partition.
    // (An outage across a partition's first batch, when its stored offset is looked up, is retried
    // like a batch: tests/pipeline/runner.test.ts covers it on the in-memory broker.)
    const steady = Date.now() + 45_000;
    while ((await storedPartitions(`${eaio.prefix}.stage.write_hypertable`)) < PARTITIONS) {
      if (exited || Date.now() > steady) throw new Error('the writer did not reach every partition');
      await sleep(25);
    }
    const before = (await rowCount()) ?? 0;
    await pg.stop();
    await sleep(OUTAGE_MS);
    if (exited) {
      const done = await worker.finished;
      expect.fail(
        `the worker died while PostgreSQL was down (${done.code})\n${(done.stdout + done.stderr).slice(-3000)}`,
      );
    }
    await pg.start();

    const replayed = await replay.finished;
    expect(replayed.code, replayed.stderr).toBe(0);
    const end = Date.now() + 60_000;
    for (;;) {
      const count = (await rowCount()) ?? 0;
      if (count >= total) break;
      if (exited) {
        const done = await worker.finished;
        throw new Error(
          `the worker exited (${done.code}) with ${count}/${total} rows\n${(done.stdout + done.stderr).slice(-3000)}`,
        );
      }
      if (Date.now() > end) {
        worker.child.kill('SIGTERM');
        const done = await worker.finished;
        throw new Error(`timed out at ${count}/${total} rows\n${(done.stdout + done.stderr).slice(-6000)}`);
      }
      await sleep(100);
    }
    // The outage really came mid-stream.
    expect(before).toBeLessThan(total);

    const rows = await readMeterReadings(sql);
    const deadLetters = (await Promise.all(PIPELINE_STAGES.map((stage) => readDeadLetters(eaio, stage)))).flat();
    expect(deadLetters).toEqual([]);
    expect(account(expected, rows, deadLetters)).toEqual(EXACT);
    expect(rows).toHaveLength(total);

    // The writer's stored offsets reached the end of its input.
    const topic = `${eaio.prefix}.readings.scored.v1`;
    const ends = await withAdmin((admin) => admin.fetchTopicOffsets(topic));
    const stored = await sql<{ partition: number; next_offset: string }[]>`
      SELECT partition, next_offset::text FROM stage_offsets
       WHERE consumer_group = ${`${eaio.prefix}.stage.write_hypertable`} AND topic = ${topic}`;
    const storedBy = new Map(stored.map((s) => [s.partition, s.next_offset]));
    for (const e of ends.filter((x) => x.high !== x.low)) expect(storedBy.get(e.partition)).toBe(e.high);

    worker.child.kill('SIGTERM');
    const done = await worker.finished;
    expect(done.code, done.stderr.slice(-3000)).toBe(0);
    expect(done.stdout + done.stderr).not.toContain('TypeError');
    expect(done.stdout + done.stderr).not.toMatch(STACK_FRAME);
  });

  it('across the first batches of a chain (stored offsets and weather looked up while it is down): retried, nothing lost', async () => {
    const expected = expectedFromBdg2(SAMPLE, 'raw');
    const total = expected.readings.size;
    const chain = new EaioProcesses(pg.url);
    try {
      await sql`TRUNCATE meter_readings, weather_observations, stage_offsets`;
      const worker = chain.start(['run', PIPELINE_STAGES.join('+')], { LOG_LEVEL: 'info' });
      let output = '';
      worker.child.stdout?.on('data', (c: Buffer) => {
        output += c.toString('utf8');
      });
      let exited = false;
      void worker.finished.then(() => {
        exited = true;
      });
      const joined = Date.now() + 45_000;
      while (!output.includes('"msg":"partitions assigned"')) {
        if (exited || Date.now() > joined) throw new Error(`the chain did not join its group\n${output.slice(-3000)}`);
        await sleep(50);
      }
      // Down before any record arrives: each partition's first batch asks the database where to resume.
      await pg.stop();
      const downAt = Date.now();
      const replayed = await chain.runOk(['replay', '--bdg2', SAMPLE, '--variant', 'raw', '--speed', 'max']);
      expect(replayed.stderr).not.toMatch(STACK_FRAME);
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)));
      if (exited) {
        const done = await worker.finished;
        expect.fail(
          `the chain died while PostgreSQL was down (${done.code})\n${(done.stdout + done.stderr).slice(-3000)}`,
        );
      }
      expect(output).toContain('transient error, retrying batch after backoff');
      await pg.start();

      const end = Date.now() + 60_000;
      for (;;) {
        const count = (await rowCount()) ?? 0;
        if (count >= total) break;
        if (exited) throw new Error(`the chain exited with ${count}/${total} rows\n${output.slice(-3000)}`);
        if (Date.now() > end) throw new Error(`timed out at ${count}/${total} rows\n${output.slice(-8000)}`);
        await sleep(100);
      }
      const rows = await readMeterReadings(sql);
      const deadLetters = (await Promise.all(PIPELINE_STAGES.map((stage) => readDeadLetters(chain, stage)))).flat();
      expect(deadLetters).toEqual([]);
      expect(account(expected, rows, deadLetters)).toEqual(EXACT);
      worker.child.kill('SIGTERM');
      const done = await worker.finished;
      expect(done.code, done.stderr.slice(-3000)).toBe(0);
      expect(done.stdout + done.stderr).not.toMatch(STACK_FRAME);
    } finally {
      chain.stopAll();
      await deleteTopics(chain.prefix).catch(() => undefined);
    }
  });
});
