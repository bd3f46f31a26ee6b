import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../pipeline/broker.js';
import { chainStages } from '../../pipeline/chain.js';
import { dlqHeader } from '../../pipeline/dlq.js';
import { FatalError, TransientError } from '../../pipeline/errors.js';
import { StageRunner } from '../../pipeline/runner.js';
import { deadLetter, defer, ok, type Stage, skip } from '../../pipeline/stage.js';
import {
  committedTotal,
  dlqTopic,
  echoStage,
  eventually,
  inTopic,
  metricValue,
  naming,
  outTopic,
  type Reading,
  readingCodec,
  setup,
} from './helpers.js';

const group = 't.stage.echo';

describe('StageRunner on the in-memory broker', () => {
  it('keeps order within each partition and commits the end of every partition', async () => {
    const { broker, makeRunner, produce } = setup();
    const runner = makeRunner(echoStage());
    await runner.start();
    produce(200);
    await eventually(() => committedTotal(broker, group, inTopic) === 200, 'all committed');
    await runner.stop();
    const inputs = broker.topics.get(inTopic) ?? [];
    const outputs = await broker.readTopic(outTopic);
    expect(outputs).toHaveLength(200);
    // Same key → same output partition; per key the order of ids is the input order.
    const idsByKey = new Map<string, number[]>();
    for (const r of outputs) {
      const v = JSON.parse(String(r.value)) as Reading;
      idsByKey.set(v.key, [...(idsByKey.get(v.key) ?? []), v.id]);
    }
    for (const ids of idsByKey.values()) expect(ids).toEqual([...ids].sort((a, b) => a - b));
    inputs.forEach((log, partition) => {
      expect(broker.committed(group, { topic: inTopic, partition })).toBe(BigInt(log.length));
    });
  });

  it('never commits an offset whose outputs are not acknowledged', async () => {
    const { broker, makeRunner, produce } = setup(1);
    const release = broker.holdSends();
    const stage = echoStage();
    const runner = makeRunner(stage);
    await runner.start();
    produce(30);
    await eventually(() => stage.seen.length > 0, 'first batch processed');
    expect(broker.committed(group, { topic: inTopic, partition: 0 })).toBeUndefined();
    release();
    await eventually(() => committedTotal(broker, group, inTopic) === 30, 'committed after acks');
    await runner.stop();
  });

  it('retries a transient produce failure with the partition paused, without duplicates', async () => {
    const { broker, registry, makeRunner, produce, values } = setup(1);
    broker.failNextSends(3, () => new TransientError('broker busy'));
    const stage = echoStage();
    const runner = makeRunner(stage);
    const consumer = (runner as unknown as { consumer: { pause: (tp: unknown) => void } }).consumer;
    const pauses: unknown[] = [];
    const realPause = consumer.pause.bind(consumer);
    consumer.pause = (tp) => {
      pauses.push(tp);
      realPause(tp);
    };
    await runner.start();
    produce(10);
    await eventually(() => committedTotal(broker, group, inTopic) === 10, 'committed');
    await runner.stop();
    expect((await values(outTopic)).map((r) => r.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(pauses).toEqual([
      { topic: inTopic, partition: 0 },
      { topic: inTopic, partition: 0 },
      { topic: inTopic, partition: 0 },
    ]);
    expect(stage.seen).toEqual([stage.seen[0], stage.seen[0], stage.seen[0], stage.seen[0]]);
    expect(await metricValue(registry, 'pipeline_retries_total', { stage: 'echo' })).toBe(3);
    expect((await broker.readTopic(dlqTopic)).length).toBe(0);
  });

  it('defers a batch the stage is not ready for: paused, handed in again, no retry budget used', async () => {
    const { broker, registry, makeRunner, produce, values } = setup(1);
    let notReady = 25; // more deferrals than the retry budget's attempts
    const stage = echoStage(async (batch) =>
      batch.map((r) => (r.id === 3 && notReady-- > 0 ? defer('waiting_for_input', 1) : ok({ value: r }))),
    );
    const runner = makeRunner(stage);
    await runner.start();
    produce(10);
    await eventually(() => committedTotal(broker, group, inTopic) === 10, 'committed');
    await runner.stop();
    expect(runner.fatal).toBeUndefined();
    expect((await values(outTopic)).map((r) => r.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(
      await metricValue(registry, 'pipeline_deferrals_total', { stage: 'echo', reason: 'waiting_for_input' }),
    ).toBe(25);
    expect(await metricValue(registry, 'pipeline_retries_total', { stage: 'echo' })).toBe(0);
    expect(await metricValue(registry, 'pipeline_records_received_total', { stage: 'echo' })).toBe(10);
  });

  it('commits the last batch even when it finished inside the commit interval', async () => {
    const { broker, makeRunner, produce } = setup(1);
    const runner = makeRunner(echoStage(), { commitIntervalMs: 300 });
    await runner.start();
    produce(5);
    await eventually(() => committedTotal(broker, group, inTopic) === 5, 'first commit');
    produce(5); // processed within 300 ms of the first commit: throttled, then committed by the timer
    await eventually(() => committedTotal(broker, group, inTopic) === 10, 'trailing commit while running');
    await runner.stop();
  });

  it('dead-letters a record whose codec throws instead of stopping the worker', async () => {
    const { broker, makeRunner, produce, values } = setup(1);
    const stage = echoStage();
    const decode = stage.input.decode.bind(stage.input);
    const runner = makeRunner({
      ...stage,
      input: {
        ...stage.input,
        decode: (raw) => {
          if (String(raw.value).includes('"id":3,')) throw new TypeError('codec bug');
          return decode(raw);
        },
      },
    });
    await runner.start();
    produce(6);
    await eventually(() => committedTotal(broker, group, inTopic) === 6, 'committed');
    await runner.stop();
    expect(runner.fatal).toBeUndefined();
    expect((await values(outTopic)).map((r) => r.id)).toEqual([0, 1, 2, 4, 5]);
    const dead = await broker.readTopic(dlqTopic);
    expect(dead.map((r) => String(r.headers[dlqHeader.code]))).toEqual(['decode_error']);
  });

  it('a sink that stores its offsets never gets ahead of an unacknowledged dead letter', async () => {
    const { broker, makeRunner, produce } = setup(1);
    produce(2); // offsets 0, 1
    broker.append({ topic: inTopic, key: 'm', value: 'not json' }); // 2: decode failure
    produce(3, 3, (id) => (id === 4 ? { bad: true } : {})); // 3, 4 (process throws), 5
    produce(2, 6); // 6, 7
    const violations: string[] = [];
    // The sink "stores" max offset + 1 of each call, as the PostgreSQL writer does in its transaction.
    const stage = echoStage(
      async (batch) => {
        if (batch.some((r) => r.bad)) throw new Error('row rejected');
        return batch.map((r) => ok({ value: r }));
      },
      { loadStoredOffsets: async () => [] },
    );
    const runner = makeRunner({
      ...stage,
      async process(envelopes, ctx) {
        // Checked when a call succeeds: that is when a real sink commits rows and offsets.
        const results = await stage.process(envelopes, ctx);
        const dead = (await broker.readTopic(dlqTopic)).map((r) => Number(String(r.headers[dlqHeader.sourceOffset])));
        const stored = Math.max(...envelopes.map((e) => Number(e.raw.offset))) + 1;
        for (const offset of [2, 4]) {
          if (stored > offset && !dead.includes(offset))
            violations.push(`stored ${stored} before dead letter ${offset}`);
        }
        return results;
      },
    });
    await runner.start();
    await eventually(() => committedTotal(broker, group, inTopic) === 8, 'committed');
    await runner.stop();
    expect(violations).toEqual([]);
    const dead = await broker.readTopic(dlqTopic);
    expect(dead.map((r) => String(r.headers[dlqHeader.sourceOffset])).sort()).toEqual(['2', '4']);
  });

  it('retries when process throws an error the classifier knows as transient', async () => {
    const { broker, makeRunner, produce, values } = setup(1);
    let failures = 2;
    const runner = makeRunner(
      echoStage(async (batch) => {
        if (failures-- > 0) throw new TransientError('db unavailable');
        return batch.map((value) => ok({ value }));
      }),
    );
    await runner.start();
    produce(5);
    await eventually(() => committedTotal(broker, group, inTopic) === 5, 'committed');
    await runner.stop();
    expect((await values(outTopic)).map((r) => r.id)).toEqual([0, 1, 2, 3, 4]);
  });

  it('isolates an unknown throw record by record and dead-letters only the offenders', async () => {
    const { broker, registry, makeRunner, produce, values } = setup(1);
    const stage = echoStage(async (batch) => {
      if (batch.some((r) => r.bad)) throw new Error('boom on bad reading');
      return batch.map((value) => ok({ value }));
    });
    const runner = makeRunner(stage);
    await runner.start();
    produce(10, 0, (id) => (id === 3 || id === 7 ? { bad: true } : {}));
    await eventually(() => committedTotal(broker, group, inTopic) === 10, 'committed');
    await runner.stop();
    expect((await values(outTopic)).map((r) => r.id)).toEqual([0, 1, 2, 4, 5, 6, 8, 9]);
    const dead = await broker.readTopic(dlqTopic);
    expect(dead.map((r) => r.headers[dlqHeader.sourceOffset]?.toString())).toEqual(['3', '7']);
    expect(dead.map((r) => r.headers[dlqHeader.code]?.toString())).toEqual(['process_error', 'process_error']);
    expect(await metricValue(registry, 'pipeline_records_dead_lettered_total', { code: 'process_error' })).toBe(2);
  });

  it('stops isolating at a deferred record: the records after it wait for the re-run', async () => {
    const { broker, makeRunner, produce, values } = setup(1);
    let deferOnce = true;
    const stage = echoStage(async (batch) => {
      if (batch.length > 1) throw new Error('something in this batch is wrong');
      const [r] = batch as [Reading];
      if (r.id === 2 && deferOnce) {
        deferOnce = false;
        return [defer('not_yet', 1)];
      }
      return [ok({ value: r })];
    });
    const runner = makeRunner(stage);
    await runner.start();
    produce(5);
    await eventually(() => committedTotal(broker, group, inTopic) === 5, 'committed');
    await runner.stop();
    // Batch, then 0, 1 alone, 2 deferred (3 and 4 not touched), then the re-run of the chunk.
    expect(stage.seen.slice(0, 4)).toEqual([[0, 1, 2, 3, 4], [0], [1], [2]]);
    expect(stage.seen[4]).toEqual([0, 1, 2, 3, 4]);
    // Outputs of a deferred chunk are produced by its re-run only: no duplicates.
    expect((await values(outTopic)).map((r) => r.id)).toEqual([0, 1, 2, 3, 4]);
  });

  it('dead-letters undecodable records before process with full provenance headers', async () => {
    const { broker, makeRunner } = setup(1);
    const stage = echoStage();
    const runner = makeRunner(stage);
    await runner.start();
    broker.append({ topic: inTopic, key: 'k1', value: '{"id":1,"key":"k1"}' });
    broker.append({ topic: inTopic, key: 'k2', value: 'not json', headers: { trace: 'abc' } });
    await eventually(() => committedTotal(broker, group, inTopic) === 2, 'committed');
    await runner.stop();
    expect(stage.seen.flat()).toEqual([1]);
    const [dead] = await broker.readTopic(dlqTopic);
    expect(dead?.key?.toString()).toBe('k2');
    expect(dead?.value?.toString()).toBe('not json');
    const h = (name: string) => dead?.headers[name]?.toString();
    expect(h('trace')).toBe('abc');
    expect(h(dlqHeader.stage)).toBe('echo');
    expect(h(dlqHeader.code)).toBe('invalid_payload');
    expect(h(dlqHeader.message)).toMatch(/JSON/);
    expect(h(dlqHeader.sourceTopic)).toBe(inTopic);
    expect(h(dlqHeader.sourcePartition)).toBe('0');
    expect(h(dlqHeader.sourceOffset)).toBe('1');
    expect(h(dlqHeader.attempts)).toBe('1');
    expect(Number.isNaN(Date.parse(h(dlqHeader.failedAt) ?? ''))).toBe(false);
  });

  it('counts skips and explicit dead letters with their codes', async () => {
    const { broker, registry, makeRunner, produce } = setup(1);
    const runner = makeRunner(
      echoStage(async (batch) =>
        batch.map((r) =>
          r.id % 3 === 0
            ? skip('duplicate')
            : r.id % 3 === 1
              ? deadLetter('out_of_range', 'too big')
              : ok({ value: r }),
        ),
      ),
    );
    await runner.start();
    produce(9);
    await eventually(() => committedTotal(broker, group, inTopic) === 9, 'committed');
    await runner.stop();
    expect(await metricValue(registry, 'pipeline_records_skipped_total', { reason: 'duplicate' })).toBe(3);
    expect(await metricValue(registry, 'pipeline_records_dead_lettered_total', { code: 'out_of_range' })).toBe(3);
    expect(await metricValue(registry, 'pipeline_records_sent_total', { stage: 'echo' })).toBe(3);
  });

  it('stops fatally when the DLQ guard trips, dead-lettering and committing nothing of that batch', async () => {
    const { broker, makeRunner, produce } = setup(1);
    const runner = makeRunner(
      echoStage(async (batch) => batch.map(() => deadLetter('bad_deploy', 'everything fails'))),
      {
        dlqGuard: { maxConsecutive: 15, maxRatio: 1, window: 100, minRecords: 100 },
      },
    );
    await runner.start();
    produce(40);
    await runner.finished;
    expect(runner.fatal?.name).toBe('DlqGuardTripped');
    // The first chunk of 10 passed the guard; the second crossed 15 in a row.
    expect((await broker.readTopic(dlqTopic)).length).toBe(10);
    expect(committedTotal(broker, group, inTopic)).toBe(10);
  });

  it('ends a spent retry budget in a crash, not in dead letters', async () => {
    const { broker, makeRunner, produce } = setup(1);
    const runner = makeRunner(
      echoStage(async () => {
        throw new TransientError('still down');
      }),
    );
    await runner.start();
    produce(5);
    await runner.finished;
    expect((runner.fatal as FatalError).code).toBe('retry_budget_exhausted');
    expect((await broker.readTopic(dlqTopic)).length).toBe(0);
    expect(committedTotal(broker, group, inTopic)).toBe(0);
  });

  it('stops on a fatal error without committing past it', async () => {
    const { broker, makeRunner, produce, values } = setup(1);
    const runner = makeRunner(
      echoStage(async (batch) => {
        if (batch.some((r) => r.id === 15)) throw new FatalError('schema mismatch', 'schema');
        return batch.map((value) => ok({ value }));
      }),
    );
    await runner.start();
    produce(30);
    await runner.finished;
    expect((runner.fatal as FatalError).code).toBe('schema');
    expect(committedTotal(broker, group, inTopic)).toBe(10);
    expect((await values(outTopic)).length).toBe(10);
  });

  it('treats a wrong number of results as a fatal contract violation', async () => {
    const { makeRunner, produce } = setup(1);
    const runner = makeRunner(echoStage(async () => []));
    await runner.start();
    produce(3);
    await runner.finished;
    expect((runner.fatal as FatalError).code).toBe('contract_violation');
  });

  it('hands partitions over on rebalance with revoke/assign hooks and loses nothing', async () => {
    const { broker, makeRunner, produce, values } = setup(4, 5);
    const events: string[] = [];
    const hooks = (who: string) => ({
      onPartitionsAssigned: async (tps: readonly { partition: number }[]) => {
        events.push(`${who}+${tps.map((t) => t.partition).join(',')}`);
      },
      onPartitionsRevoked: async (tps: readonly { partition: number }[]) => {
        events.push(`${who}-${tps.map((t) => t.partition).join(',')}`);
      },
    });
    const a = makeRunner(echoStage(undefined, hooks('a')));
    await a.start();
    produce(100);
    await eventually(() => committedTotal(broker, group, inTopic) > 0, 'a made progress');
    const b = makeRunner(echoStage(undefined, hooks('b')));
    await b.start();
    produce(100, 100);
    await eventually(() => committedTotal(broker, group, inTopic) === 200, 'all committed');
    expect(a.assignedPartitions().length).toBe(2);
    expect(b.assignedPartitions().length).toBe(2);
    await a.stop();
    await b.stop();
    expect(events.slice(0, 3)).toEqual(['a+0,1,2,3', 'a-0,1,2,3', 'a+0,2']);
    const ids = new Set((await values(outTopic)).map((r) => r.id));
    expect(ids.size).toBe(200);
  });

  it('drains the in-flight batch and commits it on shutdown', async () => {
    const { broker, makeRunner, produce } = setup(1);
    const release = broker.holdSends();
    const stage = echoStage();
    const runner = makeRunner(stage);
    await runner.start();
    produce(10);
    await eventually(() => stage.seen.length === 1, 'batch in flight');
    const stopping = runner.stop();
    release();
    await stopping;
    expect(runner.fatal).toBeUndefined();
    expect(committedTotal(broker, group, inTopic)).toBe(10);
  });

  it('seeks to offsets a sink stores itself when a partition is assigned', async () => {
    const { broker, makeRunner, produce, values } = setup(1);
    const stage = echoStage(undefined, {
      loadStoredOffsets: async (tps) => tps.map((tp) => ({ ...tp, offset: '6' })),
    });
    produce(10);
    const runner = makeRunner(stage);
    await runner.start();
    await eventually(() => committedTotal(broker, group, inTopic) === 10, 'committed');
    await runner.stop();
    expect((await values(outTopic)).map((r) => r.id)).toEqual([6, 7, 8, 9]);
  });

  it('retries loading stored offsets while the store is briefly unreachable, then seeks to them', async () => {
    const { broker, makeRunner, produce, values } = setup(1);
    let failures = 3;
    const stage = echoStage(undefined, {
      loadStoredOffsets: async (tps) => {
        if (failures-- > 0) throw new TransientError('database restarting');
        return tps.map((tp) => ({ ...tp, offset: '6' }));
      },
    });
    produce(10);
    const runner = makeRunner(stage);
    await runner.start();
    await eventually(() => committedTotal(broker, group, inTopic) === 10, 'committed');
    await runner.stop();
    expect(runner.fatal).toBeUndefined();
    expect(failures).toBe(-1);
    expect((await values(outTopic)).map((r) => r.id)).toEqual([6, 7, 8, 9]);
  });

  it('in a chain, retries a stored-offset lookup that only the sink classifies as transient', async () => {
    const { broker, makeRunner, produce, values } = setup(1);
    class StoreRestarting extends Error {}
    let failures = 2;
    const sink: Stage<Reading> = {
      name: 'sink',
      inputs: ['out.v1'],
      input: readingCodec,
      batch: { maxRecords: 10 },
      classifyError: (error) => (error instanceof StoreRestarting ? 'retry' : 'unknown'),
      async process(batch) {
        return batch.map(() => ok());
      },
      loadStoredOffsets: async (tps) => {
        if (failures-- > 0) throw new StoreRestarting('connection refused');
        return tps.map((tp) => ({ ...tp, offset: '0' }));
      },
    };
    const seen: number[] = [];
    const first = echoStage(async (batch) => {
      for (const r of batch) seen.push(r.id);
      return batch.map((value) => ok({ value }));
    });
    const runner = makeRunner(chainStages([first, sink], naming) as never);
    await runner.start();
    produce(5);
    await eventually(() => committedTotal(broker, 't.stage.echo+sink', inTopic) === 5, 'committed');
    await runner.stop();
    expect(runner.fatal).toBeUndefined();
    expect(failures).toBe(-1);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(await values(outTopic).catch(() => [])).toEqual([]);
  });

  it('still seeks to the stored offset when the group-position lookup failed once', async () => {
    const { broker, produce, values } = setup(1);
    let failures = 1;
    const flaky: Broker = {
      consumer: (o) => broker.consumer(o),
      producer: () => broker.producer(),
      readTopic: (t) => broker.readTopic(t),
      admin() {
        const admin = broker.admin();
        return {
          ...admin,
          connect: () => admin.connect(),
          disconnect: () => admin.disconnect(),
          async groupOffsets(groupId, topic) {
            if (failures-- > 0) throw new TransientError('coordinator loading');
            return admin.groupOffsets(groupId, topic);
          },
        };
      },
    };
    const stage = echoStage(undefined, { loadStoredOffsets: async (tps) => tps.map((tp) => ({ ...tp, offset: '6' })) });
    const runner = new StageRunner(
      stage,
      { broker: flaky, log: pino({ level: 'silent' }), registry: new Registry() },
      {
        naming,
        topicPartitions: 1,
        commitIntervalMs: 0,
        random: () => 0,
        retry: { baseMs: 1, capMs: 1, maxAttempts: 5, maxElapsedMs: 60_000 },
      },
    );
    // A stored offset ahead of the first record makes the runner ask for the group position.
    produce(10);
    await runner.start();
    await eventually(() => committedTotal(broker, group, inTopic) === 10, 'committed');
    await runner.stop();
    expect(runner.fatal).toBeUndefined();
    expect(failures).toBe(-1);
    expect((await values(outTopic)).map((r) => r.id)).toEqual([6, 7, 8, 9]);
  });

  it('runs a transiently failing assignment hook again per partition before any of its records', async () => {
    const { broker, makeRunner, produce } = setup(2);
    let failures = 2;
    const built = new Set<number>();
    const violations: string[] = [];
    const stage = echoStage(undefined, {
      async onPartitionsAssigned(tps) {
        if (failures-- > 0) throw new TransientError('database restarting');
        for (const tp of tps) built.add(tp.partition);
      },
    });
    const runner = makeRunner({
      ...stage,
      async process(envelopes, ctx) {
        for (const e of envelopes)
          if (!built.has(e.raw.partition)) violations.push(`${e.raw.partition}:${e.raw.offset}`);
        return stage.process(envelopes, ctx);
      },
    });
    await runner.start();
    produce(20);
    await eventually(() => committedTotal(broker, group, inTopic) === 20, 'committed');
    await runner.stop();
    expect(runner.fatal).toBeUndefined();
    expect(violations).toEqual([]);
    expect([...built].sort()).toEqual([0, 1]);
  });

  it('fetches a partition again that a rebalance reassigned while it was paused for a retry', async () => {
    const { broker, makeRunner, produce } = setup(1);
    let failures = 1;
    const stage = echoStage(async (batch) => {
      if (failures-- > 0) throw new TransientError('database restarting');
      return batch.map((value) => ok({ value }));
    });
    // A backoff far longer than the test: only the rebalance can get the partition going again.
    const runner = makeRunner(stage, {
      retry: { baseMs: 60_000, capMs: 60_000, maxAttempts: 5, maxElapsedMs: 600_000 },
      random: () => 1,
    });
    await runner.start();
    produce(5);
    await eventually(() => stage.seen.length === 1, 'the failed first attempt');
    await broker.rebalance(group);
    await eventually(() => committedTotal(broker, group, inTopic) === 5, 'committed after the rebalance');
    await runner.stop();
    expect(runner.fatal).toBeUndefined();
  });

  it('tells the stage which of its partitions are being retried, until their retry succeeds', async () => {
    const { broker, makeRunner } = setup(2);
    let failures = 1;
    const seen: { partition: number; retrying: number[] }[] = [];
    const stage = echoStage(undefined, {});
    const runner = makeRunner(
      {
        ...stage,
        async process(envelopes, ctx) {
          const partition = envelopes[0]?.raw.partition ?? -1;
          seen.push({ partition, retrying: (ctx.retryingPartitions?.() ?? []).map((tp) => tp.partition) });
          if (partition === 0 && failures-- > 0) throw new TransientError('store restarting');
          return envelopes.map((e) => ok({ value: e.value }));
        },
      },
      { retry: { baseMs: 300, capMs: 300, maxAttempts: 5, maxElapsedMs: 60_000 }, random: () => 1 },
    );
    await runner.start();
    broker.append({ topic: inTopic, partition: 0, key: 'a', value: JSON.stringify({ id: 0, key: 'a' }) });
    await eventually(() => seen.length === 1, 'the failed attempt on partition 0');
    broker.append({ topic: inTopic, partition: 1, key: 'b', value: JSON.stringify({ id: 1, key: 'b' }) });
    await eventually(() => committedTotal(broker, group, inTopic) === 2, 'both committed');
    broker.append({ topic: inTopic, partition: 1, key: 'b', value: JSON.stringify({ id: 2, key: 'b' }) });
    await eventually(() => committedTotal(broker, group, inTopic) === 3, 'the third committed');
    await runner.stop();
    expect(seen[0]).toEqual({ partition: 0, retrying: [] });
    // While partition 0 waited out its backoff, partition 1 was told so; after its success, nothing is.
    expect(seen.find((s) => s.partition === 1)?.retrying).toEqual([0]);
    expect(seen.at(-1)).toEqual({ partition: 1, retrying: [] });
  });

  it('stops when loading stored offsets fails for good (not a transient error)', async () => {
    const { makeRunner, produce } = setup(1);
    const stage = echoStage(undefined, {
      loadStoredOffsets: async () => {
        throw new FatalError('relation "stage_offsets" does not exist', 'undefined_table');
      },
    });
    produce(3);
    const runner = makeRunner(stage);
    await runner.start();
    await runner.finished;
    expect((runner.fatal as FatalError).code).toBe('undefined_table');
  });

  it('replays from a committed group position behind the stored offset instead of skipping ahead', async () => {
    // A crash between the sink's own commit and the group commit: the rows up to the stored offset
    // are in the sink, but their dead letters may not have been acknowledged. Replaying the gap is
    // safe (the sink is idempotent); skipping it could lose a dead letter.
    const { broker, makeRunner, produce, values } = setup(1);
    broker.group(group).committed.set(`${inTopic}:0`, 3n);
    const stage = echoStage(undefined, {
      loadStoredOffsets: async (tps) => tps.map((tp) => ({ ...tp, offset: '6' })),
    });
    produce(10);
    const runner = makeRunner(stage);
    await runner.start();
    await eventually(() => committedTotal(broker, group, inTopic) === 10, 'committed');
    await runner.stop();
    expect((await values(outTopic)).map((r) => r.id)).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });
});
