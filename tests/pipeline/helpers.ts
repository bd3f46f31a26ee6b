import { pino } from 'pino';
import { Registry } from 'prom-client';
import { MemoryBroker } from '../../pipeline/broker-memory.js';
import { jsonCodec } from '../../pipeline/codecs.js';
import { type RunnerOptions, StageRunner } from '../../pipeline/runner.js';
import { ok, type Stage, type StageResult } from '../../pipeline/stage.js';

export interface Reading {
  readonly id: number;
  readonly key: string;
  readonly bad?: boolean;
}

export const readingCodec = jsonCodec<Reading>((value) => {
  const v = value as Reading;
  if (typeof v?.id !== 'number' || typeof v.key !== 'string') throw new Error('not a reading');
  return v;
});

export const naming = { prefix: 't' };
export const inTopic = 't.in.v1';
export const outTopic = 't.out.v1';
export const dlqTopic = 't.dlq.echo.v1';

/** A stage that forwards every reading; `behaviour` overrides process for a test. */
export function echoStage(
  behaviour?: (batch: readonly Reading[]) => Promise<readonly StageResult<Reading>[]>,
  extra: Partial<Stage<Reading, Reading>> = {},
): Stage<Reading, Reading> & { seen: number[][] } {
  const seen: number[][] = [];
  return {
    name: 'echo',
    inputs: ['in.v1'],
    input: readingCodec,
    output: { topic: 'out.v1', codec: readingCodec, key: (r) => r.key },
    batch: { maxRecords: 10 },
    async process(batch) {
      seen.push(batch.map((e) => e.value.id));
      if (behaviour) return behaviour(batch.map((e) => e.value));
      return batch.map((e) => ok({ value: e.value }));
    },
    ...extra,
    seen,
  };
}

export function setup(partitions = 3, maxBatchRecords = 25) {
  const broker = new MemoryBroker({ maxBatchRecords });
  broker.createTopic(inTopic, partitions);
  const registry = new Registry();
  const log = pino({ level: 'silent' });
  const options: RunnerOptions = {
    naming,
    topicPartitions: partitions,
    commitIntervalMs: 0,
    random: () => 0,
    retry: { baseMs: 1, capMs: 1, maxAttempts: 5, maxElapsedMs: 60_000 },
  };
  const makeRunner = (stage: Stage<Reading, Reading>, overrides: Partial<RunnerOptions> = {}) =>
    new StageRunner(stage, { broker, log, registry }, { ...options, ...overrides });
  const produce = (count: number, from = 0, make?: (id: number) => Partial<Reading>) => {
    for (let id = from; id < from + count; id++) {
      broker.append({
        topic: inTopic,
        key: `m${id % 7}`,
        value: JSON.stringify({ id, key: `m${id % 7}`, ...make?.(id) }),
        headers: { trace: `tr-${id}` },
      });
    }
  };
  const values = async (topic: string) =>
    (await broker.readTopic(topic)).map((r) => JSON.parse(String(r.value)) as Reading);
  return { broker, registry, makeRunner, produce, values };
}

/** Polls until `check` holds (bounded); correctness tests, not speed tests. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what = 'condition',
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, l]) => String((v.labels as Record<string, unknown>)[k]) === l))
    .reduce((sum, v) => sum + v.value, 0);
}

export function committedTotal(broker: MemoryBroker, group: string, topic: string): number {
  let total = 0;
  const partitions = broker.topics.get(topic) ?? [];
  partitions.forEach((_, partition) => {
    total += Number(broker.committed(group, { topic, partition }) ?? 0n);
  });
  return total;
}
