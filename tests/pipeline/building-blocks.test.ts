import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../pipeline/broker-memory.js';
import { buildDeadLetter, buildReplay, DlqGuard, dlqHeader, readDeadLetter } from '../../pipeline/dlq.js';
import { startHealthServer } from '../../pipeline/health.js';
import { PipelineMetrics } from '../../pipeline/metrics.js';
import { OffsetTracker, offsetAfter } from '../../pipeline/offsets.js';
import { backoffDelayMs, RetryBudget } from '../../pipeline/retry.js';
import type { RawRecord } from '../../pipeline/stage.js';
import { consumerGroup, deadLetterTopic, physicalTopic } from '../../pipeline/topics.js';
import { runWorker } from '../../pipeline/worker.js';
import { echoStage } from './helpers.js';

describe('offsetAfter', () => {
  it('orders offset strings as the numbers they are, beyond 2^53 too', () => {
    const pairs: [string, string][] = [
      ['10', '9'],
      ['100', '99'],
      ['12', '11'],
      ['9007199254740993', '9007199254740992'],
      ['1', '0'],
    ];
    for (const [later, earlier] of pairs) {
      expect(offsetAfter(later, earlier)).toBe(true);
      expect(offsetAfter(earlier, later)).toBe(false);
      expect(offsetAfter(later, later)).toBe(false);
    }
  });
});

describe('OffsetTracker', () => {
  it('commits only the contiguous finished prefix', () => {
    const t = new OffsetTracker();
    t.track([10n, 11n, 12n, 13n]);
    t.finish([11n, 12n]);
    expect(t.committable()).toBeUndefined();
    t.finish([10n]);
    expect(t.committable()).toBe(13n);
    t.markCommitted(13n);
    expect(t.committable()).toBeUndefined();
    t.finish([13n]);
    expect(t.committable()).toBe(14n);
    expect(t.inFlight).toBe(0);
  });

  it('tracks a retried record once', () => {
    const t = new OffsetTracker();
    t.track([1n, 2n]);
    t.track([1n, 2n]);
    expect(t.inFlight).toBe(2);
  });
});

describe('backoff and retry budget', () => {
  it('draws full jitter below an exponentially growing, capped ceiling', () => {
    const policy = { baseMs: 100, capMs: 1_000, maxAttempts: 5, maxElapsedMs: 10_000 };
    expect(backoffDelayMs(policy, 1, () => 0.999)).toBe(99);
    expect(backoffDelayMs(policy, 3, () => 0.999)).toBe(399);
    expect(backoffDelayMs(policy, 10, () => 0.999)).toBe(999);
    expect(backoffDelayMs(policy, 3, () => 0)).toBe(0);
  });

  it('is spent by attempts or by elapsed time', () => {
    let now = 0;
    const byAttempts = new RetryBudget({ baseMs: 1, capMs: 1, maxAttempts: 3, maxElapsedMs: 1e9 }, () => now);
    expect([byAttempts.recordFailure(), byAttempts.recordFailure(), byAttempts.recordFailure()]).toEqual([
      true,
      true,
      false,
    ]);
    const byTime = new RetryBudget({ baseMs: 1, capMs: 1, maxAttempts: 100, maxElapsedMs: 1_000 }, () => now);
    expect(byTime.recordFailure()).toBe(true);
    now = 1_001;
    expect(byTime.recordFailure()).toBe(false);
  });
});

describe('dead letters', () => {
  const raw: RawRecord = {
    topic: 'eaio.readings.raw.v1',
    partition: 2,
    offset: '42',
    key: Buffer.from('m1'),
    value: Buffer.from('{bad'),
    headers: { trace: Buffer.from('t1'), [dlqHeader.code]: Buffer.from('old_code') },
    timestamp: 0,
  };

  it('round-trips provenance and replays the original bytes to the source topic', () => {
    const dead = buildDeadLetter(
      'validate',
      'eaio.dlq.validate.v1',
      raw,
      { code: 'invalid_payload', message: 'x'.repeat(5_000), attempts: 1 },
      new Date(0),
    );
    const asRaw: RawRecord = {
      ...raw,
      topic: dead.topic,
      offset: '0',
      headers: Object.fromEntries(Object.entries(dead.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
    };
    const view = readDeadLetter(asRaw);
    expect(view).toMatchObject({
      stage: 'validate',
      code: 'invalid_payload',
      sourceTopic: raw.topic,
      sourcePartition: 2,
      sourceOffset: '42',
      attempts: 1,
      failedAt: '1970-01-01T00:00:00.000Z',
    });
    expect(view.message.length).toBe(1_000);
    const replay = buildReplay(asRaw);
    expect(replay.topic).toBe(raw.topic);
    expect(replay.value).toEqual(raw.value);
    expect(Object.keys(replay.headers ?? {}).sort()).toEqual(['trace', 'x-dlq-replayed-at']);
  });

  it('guard trips on consecutive dead letters and on the ratio, not on isolated ones', () => {
    const limits = { maxConsecutive: 3, maxRatio: 0.5, window: 10, minRecords: 10 };
    expect(() =>
      new DlqGuard(limits).observe([true, true, false, true, true, false, false, false, false, false]),
    ).not.toThrow();
    expect(() => new DlqGuard(limits).observe([false, true, true, true])).toThrow(/3 consecutive/);
    expect(() => new DlqGuard(limits).observe([true, true, false, true, true, false, true, true, false, true])).toThrow(
      /ratio/,
    );
  });
});

describe('topic naming', () => {
  it('prefixes versioned names and derives DLQ and group names', () => {
    expect(physicalTopic({ prefix: 'eaio' }, 'readings.raw.v1')).toBe('eaio.readings.raw.v1');
    expect(physicalTopic({ prefix: '' }, 'readings.raw.v1')).toBe('readings.raw.v1');
    expect(deadLetterTopic({ prefix: 'eaio' }, 'validate')).toBe('eaio.dlq.validate.v1');
    expect(consumerGroup({ prefix: 'eaio' }, 'validate')).toBe('eaio.stage.validate');
  });
});

describe('health server', () => {
  it('serves metrics, liveness and readiness and registers a file_sd target', async () => {
    const registry = new Registry();
    PipelineMetrics.forRegistry(registry).received.inc({ stage: 'echo' }, 3);
    let ready = false;
    const sdDir = mkdtempSync(join(tmpdir(), 'eaio-sd-'));
    const server = await startHealthServer({ host: '127.0.0.1', port: 0, registry, isReady: () => ready, sdDir });
    const base = `http://127.0.0.1:${server.port}`;
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('pipeline_records_received_total{stage="echo"} 3');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const file = join(sdDir, `eaio-worker-${process.pid}-${server.port}.json`);
    expect(JSON.parse(readFileSync(file, 'utf8'))[0].targets).toEqual([`127.0.0.1:${server.port}`]);
    await server.close();
    expect(existsSync(file)).toBe(false);
  });
});

describe('runWorker', () => {
  it('with exitWhenIdle drains the input, commits and exits 0', async () => {
    const broker = new MemoryBroker();
    broker.createTopic('w.in.v1', 2);
    for (let id = 0; id < 50; id++)
      broker.append({ topic: 'w.in.v1', key: `k${id}`, value: JSON.stringify({ id, key: `k${id}` }) });
    const code = await runWorker({
      stages: [echoStage()],
      broker,
      log: pino({ level: 'silent' }),
      runner: { naming: { prefix: 'w' }, topicPartitions: 2 },
      exitWhenIdle: true,
      idleCheckMs: 5,
    });
    expect(code).toBe(0);
    expect((await broker.readTopic('w.out.v1')).length).toBe(50);
    expect(
      Number(broker.committed('w.stage.echo', { topic: 'w.in.v1', partition: 0 }) ?? 0n) +
        Number(broker.committed('w.stage.echo', { topic: 'w.in.v1', partition: 1 }) ?? 0n),
    ).toBe(50);
  });

  it('exits 1 when a stage fails fatally', async () => {
    const broker = new MemoryBroker();
    broker.createTopic('w.in.v1', 1);
    broker.append({ topic: 'w.in.v1', key: 'k', value: '{"id":1,"key":"k"}' });
    const failing = echoStage(async () => {
      const { FatalError } = await import('../../pipeline/errors.js');
      throw new FatalError('boom');
    });
    const code = await runWorker({
      stages: [failing],
      broker,
      log: pino({ level: 'silent' }),
      runner: { naming: { prefix: 'w' }, topicPartitions: 1 },
    });
    expect(code).toBe(1);
  });
});
