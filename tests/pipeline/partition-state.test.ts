import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Broker, ConsumerPort } from '../../pipeline/broker.js';
import { MemoryBroker } from '../../pipeline/broker-memory.js';
import { jsonCodec } from '../../pipeline/codecs.js';
import { TransientError } from '../../pipeline/errors.js';
import { partitionForKey } from '../../pipeline/murmur2.js';
import { EventClock, keysOnPartitions, PartitionStateStore } from '../../pipeline/partition-state.js';
import { type RunnerOptions, StageRunner } from '../../pipeline/runner.js';
import { ok, retry, type Stage, type TopicPartition } from '../../pipeline/stage.js';
import { eventually } from './helpers.js';
import {
  MemoryHistoryStore,
  type MeterReading,
  meansByKey,
  type RollingMean,
  rollingMeanInput,
  rollingMeanStage,
  rollingMeanTopics,
} from './rolling-mean-stage.js';

const log = pino({ level: 'silent' });
const naming = { prefix: 't' };
const options: RunnerOptions = {
  naming,
  topicPartitions: 4,
  commitIntervalMs: 0,
  random: () => 0,
  retry: { baseMs: 1, capMs: 1, maxAttempts: 5, maxElapsedMs: 60_000 },
};
const input = `t.${rollingMeanTopics.input}`;
const output = `t.${rollingMeanTopics.output}`;

interface Timed {
  readonly n: number;
  readonly t: number;
}
const timedCodec = jsonCodec<Timed>(
  (v) => v as Timed,
  (v) => v.t,
);

function timedStage(
  extra: Partial<Stage<Timed, never>> & { process: Stage<Timed, never>['process'] },
): Stage<Timed, never> {
  return { name: 'timed', inputs: ['in.v1'], input: timedCodec, batch: { maxRecords: 10 }, ...extra };
}

/** Like kafkajs: the assignment handler is an event whose listener nobody awaits. */
function unawaitedAssignment(broker: MemoryBroker): Broker {
  return {
    consumer(o): ConsumerPort {
      const consumer = broker.consumer(o);
      const run = consumer.run.bind(consumer);
      consumer.run = (handlers) =>
        run({
          ...handlers,
          onAssigned: async (tps) => {
            void handlers.onAssigned(tps);
          },
        });
      return consumer;
    },
    producer: () => broker.producer(),
    admin: () => broker.admin(),
    readTopic: (topic) => broker.readTopic(topic),
  };
}

const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);

describe('partition-owned state', () => {
  it('processes no record of a partition before its state is built, even if the adapter does not wait', async () => {
    const broker = new MemoryBroker({ maxBatchRecords: 5 });
    broker.createTopic('t.in.v1', 2);
    let release!: () => void;
    const loaded = new Promise<void>((resolve) => {
      release = resolve;
    });
    const events: string[] = [];
    const stage = timedStage({
      async onPartitionsAssigned() {
        await loaded;
        events.push('built');
      },
      async process(batch) {
        events.push('process');
        return batch.map(() => ok());
      },
    });
    const runner = new StageRunner(
      stage,
      { broker: unawaitedAssignment(broker), log, registry: new Registry() },
      options,
    );
    await runner.start();
    for (let n = 0; n < 20; n++) broker.append({ topic: 't.in.v1', key: `k${n}`, value: JSON.stringify({ n, t: n }) });
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual([]);
    release();
    await eventually(() => events.filter((e) => e === 'process').length > 0, 'processing after the build');
    await runner.stop();
    expect(events[0]).toBe('built');
  });

  it('builds state for the assigned partitions and drops it on revocation', async () => {
    const store = new PartitionStateStore<string[]>({
      load: async (tps) => tps.map((tp) => ({ ...tp, state: [`loaded ${tp.partition}`] })),
      empty: () => [],
      size: (s) => s.length,
    });
    const restored: [number, number][] = [];
    const ctx = {
      stage: 's',
      log,
      signal: new AbortController().signal,
      eventTime: {
        maxEventTime: () => undefined,
        restore: (tp: TopicPartition, t: number) => restored.push([tp.partition, t]),
      },
    };
    const tps = [0, 1, 2].map((partition) => ({ topic: 'x', partition }));
    await store.assign(tps, ctx);
    expect(store.get({ topic: 'x', partition: 1 })).toEqual(['loaded 1']);
    expect(store.lastBuild?.items).toBe(3);
    store.revoke(tps.slice(0, 2));
    expect(store.partitions).toBe(1);
    expect(() => store.get({ topic: 'x', partition: 0 })).toThrow(/not assigned here/);
    expect(restored).toEqual([]);
  });

  it('keysOnPartitions selects the keys the default partitioner puts on the partitions', () => {
    const keys = Array.from({ length: 200 }, (_, i) => `meter_${i}`);
    const mine = keysOnPartitions(keys, [1, 3], 6);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((k) => [1, 3].includes(partitionForKey(Buffer.from(k), 6)))).toBe(true);
    expect(keysOnPartitions(keys, [0, 1, 2, 3, 4, 5], 6)).toHaveLength(200);
  });
});

describe('per-partition event time', () => {
  /** The watermark at every record (largest event time so far minus 5), by record number. */
  async function watermarksWith(maxRecords: number, fetchRecords: number, failOn?: number) {
    const broker = new MemoryBroker({ maxBatchRecords: fetchRecords });
    broker.createTopic('t.in.v1', 1);
    const seen = new Map<number, number>();
    const stage = timedStage({
      batch: { maxRecords },
      async process(batch, ctx) {
        const clock = new EventClock(ctx, 5);
        const marks = batch.map((e) => [e.value.n, clock.advance(e)] as const);
        // An unclassified throw: the runner re-runs the records one by one, dead-lettering this one.
        if (batch.some((e) => e.value.n === failOn)) throw new Error(`record ${failOn} is bad`);
        for (const [n, mark] of marks) seen.set(n, mark);
        return batch.map(() => ok());
      },
    });
    const runner = new StageRunner(stage, { broker, log, registry: new Registry() }, options);
    await runner.start();
    const times = [10, 3, 25, 24, 7, 40, 39, 41, 12, 60, 55, 58];
    times.forEach((t, n) => {
      broker.append({ topic: 't.in.v1', key: 'k', value: JSON.stringify({ n, t }) });
    });
    await eventually(() => seen.size === times.length - (failOn === undefined ? 0 : 1), 'all records');
    await runner.stop();
    return [...seen].sort((a, b) => a[0] - b[0]).map(([, w]) => w);
  }

  it('gives every record the same watermark however the records are cut into calls', async () => {
    const expected = [5, 5, 20, 20, 20, 35, 35, 36, 36, 55, 55, 55];
    expect(await watermarksWith(1, 1)).toEqual(expected);
    expect(await watermarksWith(4, 12)).toEqual(expected);
    expect(await watermarksWith(10, 3)).toEqual(expected);
  });

  it('gives the same watermarks when a failing record makes the runner re-run its chunk one by one', async () => {
    const expected = [5, 5, 20, 20, 20, 35, 35, 36, 36, 55, 55, 55];
    expect(await watermarksWith(12, 12, 8)).toEqual(expected.filter((_, n) => n !== 8));
  });

  it('does not count a retried chunk before it succeeds', async () => {
    const broker = new MemoryBroker({ maxBatchRecords: 3 });
    broker.createTopic('t.in.v1', 1);
    const before: (number | undefined)[] = [];
    let failures = 2;
    const stage = timedStage({
      batch: { maxRecords: 3 },
      async process(batch, ctx) {
        before.push(ctx.eventTime?.maxEventTime(batch[0]?.raw as TopicPartition));
        if (batch.some((e) => e.value.n === 4) && failures-- > 0) return batch.map(() => retry(new Error('later')));
        return batch.map(() => ok());
      },
    });
    const runner = new StageRunner(stage, { broker, log, registry: new Registry() }, options);
    await runner.start();
    [5, 9, 7, 30, 40, 35].forEach((t, n) => {
      broker.append({ topic: 't.in.v1', key: 'k', value: JSON.stringify({ n, t }) });
    });
    await eventually(() => before.length === 4, 'two chunks, one retried twice');
    await runner.stop();
    expect(before).toEqual([undefined, 9, 9, 9]);
  });

  it('does not count a chunk whose outputs were not acknowledged', async () => {
    const broker = new MemoryBroker({ maxBatchRecords: 3 });
    broker.createTopic('t.in.v1', 1);
    broker.createTopic('t.out.v1', 1);
    broker.failNextSends(2, () => new TransientError('broker busy'));
    const before: (number | undefined)[] = [];
    const stage: Stage<Timed, Timed> = {
      name: 'timed',
      inputs: ['in.v1'],
      input: timedCodec,
      output: { topic: 'out.v1', codec: timedCodec, key: () => 'k' },
      batch: { maxRecords: 3 },
      async process(batch, ctx) {
        before.push(ctx.eventTime?.maxEventTime(batch[0]?.raw as TopicPartition));
        return batch.map((e) => ok({ value: e.value }));
      },
    };
    const runner = new StageRunner(stage, { broker, log, registry: new Registry() }, options);
    await runner.start();
    [5, 9, 7].forEach((t, n) => {
      broker.append({ topic: 't.in.v1', key: 'k', value: JSON.stringify({ n, t }) });
    });
    await eventually(() => before.length === 3, 'one chunk, sent three times');
    await runner.stop();
    expect(before).toEqual([undefined, undefined, undefined]);
  });

  it('starts each assignment from the event time the stage restores', async () => {
    const broker = new MemoryBroker({ maxBatchRecords: 10 });
    broker.createTopic('t.in.v1', 1);
    const watermarks: number[] = [];
    const stage = timedStage({
      async onPartitionsAssigned(tps, ctx) {
        for (const tp of tps) ctx.eventTime?.restore(tp, 100);
      },
      async process(batch, ctx) {
        const clock = new EventClock(ctx, 10);
        for (const e of batch) watermarks.push(clock.advance(e));
        return batch.map(() => ok());
      },
    });
    const runner = new StageRunner(stage, { broker, log, registry: new Registry() }, options);
    await runner.start();
    [50, 120].forEach((t, n) => {
      broker.append({ topic: 't.in.v1', key: 'k', value: JSON.stringify({ n, t }) });
    });
    await eventually(() => watermarks.length === 2, 'both records');
    await runner.stop();
    expect(watermarks).toEqual([90, 110]);
  });
});

describe('a stateful stage across a rebalance (in-memory broker)', () => {
  async function run(mode: 'one' | 'two', readings: readonly MeterReading[]) {
    const broker = new MemoryBroker({ maxBatchRecords: 37 });
    broker.createTopic(input, 4);
    const store = new MemoryHistoryStore();
    const make = () => {
      const stage = rollingMeanStage({
        store,
        windowMs: 6 * 3_600_000,
        allowedLatenessMs: 2 * 3_600_000,
        retentionMs: 48 * 3_600_000,
        maxRecords: 20,
      });
      return { stage, runner: new StageRunner(stage, { broker, log, registry: new Registry() }, options) };
    };
    const processed = () =>
      sum(
        [0, 1, 2, 3].map((p) => Number(broker.committed('t.stage.rolling_mean', { topic: input, partition: p }) ?? 0n)),
      );
    const send = (from: number, to: number) => {
      for (const r of readings.slice(from, to)) broker.append({ topic: input, key: r.meter, value: JSON.stringify(r) });
    };
    const first = make();
    const members = [first];
    await first.runner.start();
    const third = Math.floor(readings.length / 3);
    send(0, third);
    if (mode === 'two') {
      await eventually(() => processed() >= third / 2, 'some history before the rebalance');
      const second = make();
      members.push(second);
      await second.runner.start();
      send(third, 2 * third);
      await eventually(() => processed() >= third * 1.5, 'both members at work');
      // The first member leaves: the second takes every partition and rebuilds their state.
      await first.runner.stop();
      send(2 * third, readings.length);
    } else send(third, readings.length);
    await eventually(() => processed() === readings.length, 'everything processed', 10_000);
    for (const m of members) await m.runner.stop();
    const means = (await broker.readTopic(output)).map((r) => JSON.parse(String(r.value)) as RollingMean);
    return { means, builds: members.flatMap((m) => m.stage.builds) };
  }

  it('gives the outputs of one member alone (a re-sent output must be identical)', async () => {
    const readings = rollingMeanInput(30, 60);
    const alone = await run('one', readings);
    const shared = await run('two', readings);
    const expected = meansByKey(alone.means);
    const got = meansByKey(shared.means);
    expect(expected.size).toBe(readings.length - readings.filter((r) => r.value === -1).length);
    expect(got).toEqual(expected);
    // The rebalances rebuilt non-empty state (else the test would prove nothing).
    expect(shared.builds.filter((b) => b.items > 0).length).toBeGreaterThan(0);
  });
});
