import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ServiceUnreachableError } from '../../../pipeline/service-unreachable.js';
import { connectMilvus, waitForMilvus } from '../../../stages/shared/milvus-client.js';
import { deleteTopics } from '../e2e/pipeline-processes.js';
import { runEaio, STACK_FRAME, startEaio } from './eaio-process.js';

/** Nothing listens on port 1. */
const CLOSED = '127.0.0.1:1';
const KAFKA_FIX = "Start the local stack with 'npx eaio services up' or set KAFKA_BROKERS.";
const PG_FIX = "Start the local stack with 'npx eaio services up' or set DATABASE_URL.";
const PG_CLOSED = `postgres://eaio:not-this-one@${CLOSED}/eaio`;
/** Generous: "fails fast" means seconds, not kafkajs's ~25 s of retries; this is not a speed test. */
const QUICK_MS = 20_000;

const prefix = `eaio-unreach-${randomBytes(4).toString('hex')}`;
afterAll(async () => {
  await deleteTopics(prefix).catch(() => undefined);
});

describe('one-shot commands with Kafka unreachable: one line, the fix, exit 1', () => {
  it.each([
    ['status'],
    ['topics', 'list'],
    ['topics', 'create'],
    ['dlq', 'list', 'validate'],
    ['replay', '--bdg2', 'data/bdg2-sample'],
  ])('eaio %s', async (...args) => {
    const result = await runEaio(args, { KAFKA_BROKERS: CLOSED });
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n').filter(Boolean);
    expect(lines).toEqual([
      `eaio ${args[0]}: cannot reach Kafka at ${CLOSED} (connect ECONNREFUSED ${CLOSED}). ${KAFKA_FIX}`,
    ]);
    expect(result.stdout).toBe('');
    expect(result.ms).toBeLessThan(QUICK_MS);
  });
});

describe('one-shot commands with PostgreSQL unreachable: one line, the fix, exit 1, no password', () => {
  it.each([
    ['migrate'],
    ['migrate', '--status'],
    ['import', '--bdg2', 'data/bdg2-sample'],
    ['jobs', 'run', 'aggregate_refresh'],
  ])('eaio %s', async (...args) => {
    const result = await runEaio(args, { DATABASE_URL: PG_CLOSED });
    expect(result.code).toBe(1);
    const unreachable = result.stderr.split('\n').filter((l) => l.includes('cannot reach'));
    expect(unreachable).toEqual([
      `eaio ${args[0]}: cannot reach PostgreSQL at ${CLOSED}/eaio (connect ECONNREFUSED ${CLOSED}). ${PG_FIX}`,
    ]);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(STACK_FRAME);
    expect(`${result.stdout}${result.stderr}`).not.toContain('not-this-one');
    expect(result.ms).toBeLessThan(QUICK_MS);
  });
});

/** The worker's JSON log lines. */
const logLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; err?: string; service?: string; fix?: string });

describe('eaio run: waits with backoff for EAIO_STARTUP_WAIT_S, then exits 1 with the fix', () => {
  it('Kafka unreachable', async () => {
    const result = await runEaio(['run', 'validate'], { KAFKA_BROKERS: CLOSED, EAIO_STARTUP_WAIT_S: '3' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(result.stdout).not.toMatch(STACK_FRAME);
    const lines = logLines(result.stdout);
    const waits = lines.filter((l) => l.msg === 'waiting for a service at start-up');
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits.every((l) => l.service === 'Kafka' && l.fix === KAFKA_FIX)).toBe(true);
    // kafkajs's own retry logging stays quiet.
    expect(lines.filter((l) => l.level >= 50).map((l) => l.err)).toEqual([
      `cannot reach Kafka at ${CLOSED} (connect ECONNREFUSED ${CLOSED}). ${KAFKA_FIX}`,
    ]);
    expect(result.ms).toBeLessThan(QUICK_MS);
  });

  it('PostgreSQL unreachable (Kafka up)', async () => {
    const result = await runEaio(['run', 'validate'], {
      DATABASE_URL: PG_CLOSED,
      EAIO_STARTUP_WAIT_S: '3',
      EAIO_TOPIC_PREFIX: prefix,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toMatch(STACK_FRAME);
    expect(result.stdout).not.toContain('not-this-one');
    const lines = logLines(result.stdout);
    expect(lines.some((l) => l.msg === 'waiting for a service at start-up' && l.service === 'PostgreSQL')).toBe(true);
    expect(lines.filter((l) => l.level >= 50).map((l) => l.err)).toEqual([
      `cannot reach PostgreSQL at ${CLOSED}/eaio (connect ECONNREFUSED ${CLOSED}). ${PG_FIX}`,
    ]);
    expect(result.ms).toBeLessThan(QUICK_MS);
  });

  it('EAIO_STARTUP_WAIT_S=0 waits for ever, and SIGTERM ends the wait with exit 0', async () => {
    const worker = startEaio(['run', 'validate'], { KAFKA_BROKERS: CLOSED, EAIO_STARTUP_WAIT_S: '0' });
    await worker.output('"attempt":3');
    worker.child.kill('SIGTERM');
    const result = await worker.finished;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"giveUpAfterS":"never"');
    expect(result.stdout).not.toMatch(STACK_FRAME);
  });
});

describe('Milvus unreachable', () => {
  it('connectMilvus fails with one ServiceUnreachableError naming MILVUS_ADDRESS', async () => {
    const error = await connectMilvus(CLOSED, { timeoutMs: 3_000, logLevel: 'error' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnreachableError);
    expect((error as Error).message).toMatch(
      /^cannot reach Milvus at 127\.0\.0\.1:1 \(.*ECONNREFUSED.*\)\. Start the local stack with 'npx eaio services up' or set MILVUS_ADDRESS\.$/s,
    );
  });

  it('waitForMilvus retries for waitMs, then gives up with the same error', async () => {
    const warnings: unknown[] = [];
    const log = { warn: (o: unknown) => warnings.push(o), info: () => undefined } as never;
    const started = Date.now();
    const error = await waitForMilvus(
      CLOSED,
      { log, signal: new AbortController().signal },
      {
        waitMs: 2_000,
        timeoutMs: 1_000,
        logLevel: 'error',
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnreachableError);
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(QUICK_MS);
  });
});
