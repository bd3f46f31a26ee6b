/**
 * Runner semantics that must hold on every broker adapter: run by runner-contract.test.ts on the
 * in-memory broker and by tests/integration/pipeline/runner-contract.test.ts on the real Kafka.
 * Uses only the broker port, plus a producer decorator for fault injection.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, ProduceRecord, ProducerPort } from '../../pipeline/broker.js';
import { chainStages } from '../../pipeline/chain.js';
import { jsonCodec } from '../../pipeline/codecs.js';
import { dlqHeader } from '../../pipeline/dlq.js';
import { FatalError, TransientError } from '../../pipeline/errors.js';
import { type RunnerOptions, StageRunner } from '../../pipeline/runner.js';
import { ok, type Stage, toOutput } from '../../pipeline/stage.js';
import { echoStage, type Reading } from './helpers.js';

export interface ContractEnv {
  readonly broker: Broker;
  /** A prefix no other run uses. */
  readonly prefix: string;
  readonly timeoutMs: number;
  cleanup?(): Promise<void>;
}

/** Producer decorator: fail the next n sends, or hold them unacknowledged. */
export class FaultyProducer implements ProducerPort {
  failures = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  sends = 0;
  constructor(private readonly inner: ProducerPort) {}
  connect() {
    return this.inner.connect();
  }
  disconnect() {
    return this.inner.disconnect();
  }
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }
  release(): void {
    this.gate = undefined;
    this.open?.();
  }
  async send(records: readonly ProduceRecord[]): Promise<void> {
    this.sends += 1;
    if (this.gate) await this.gate;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new TransientError('injected: broker busy');
    }
    return this.inner.send(records);
  }
}

interface Alert {
  readonly reading: number;
  readonly level: string;
}
const alerts = {
  name: 'alerts',
  topic: 'alerts.v1',
  codec: jsonCodec<Alert>((v) => v as Alert),
  key: (a: Alert) => `alert-${a.reading}`,
};
const readingJson = jsonCodec<Reading>((v) => v as Reading);

/** Producer decorator: reports each record once the broker acknowledged its send. */
class RecordingProducer implements ProducerPort {
  constructor(
    private readonly inner: ProducerPort,
    private readonly onAcknowledged: (record: ProduceRecord) => void,
  ) {}
  connect() {
    return this.inner.connect();
  }
  disconnect() {
    return this.inner.disconnect();
  }
  async send(records: readonly ProduceRecord[]): Promise<void> {
    await this.inner.send(records);
    for (const record of records) this.onAcknowledged(record);
  }
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function describeRunnerContract(name: string, makeEnv: () => Promise<ContractEnv>): void {
  describe(`runner contract on ${name}`, () => {
    const running: StageRunner<Reading, Reading>[] = [];
    const producers: ProducerPort[] = [];
    let env: ContractEnv;

    afterEach(async () => {
      await Promise.all(running.splice(0).map((r) => r.stop()));
      await Promise.all(producers.splice(0).map((p) => p.disconnect()));
      await env?.cleanup?.();
    });

    async function world(partitions = 3, stageOverrides?: Parameters<typeof echoStage>) {
      env = await makeEnv();
      const naming = { prefix: env.prefix };
      const inTopic = `${env.prefix}.in.v1`;
      const outTopic = `${env.prefix}.out.v1`;
      const dlqTopic = `${env.prefix}.dlq.echo.v1`;
      const group = `${env.prefix}.stage.echo`;
      const admin = env.broker.admin();
      await admin.connect();
      await admin.ensureTopics(
        [inTopic, outTopic, dlqTopic].map((topic) => ({ topic, partitions, replicationFactor: 1 })),
      );
      const input = env.broker.producer();
      await input.connect();
      producers.push(input);
      const options: RunnerOptions = {
        naming,
        topicPartitions: partitions,
        commitIntervalMs: 0,
        random: () => 0,
        retry: { baseMs: 5, capMs: 5, maxAttempts: 5, maxElapsedMs: 60_000 },
      };
      const start = async (stage: Stage<Reading, Reading>, producer?: ProducerPort) => {
        const p = producer ?? env.broker.producer();
        await p.connect();
        producers.push(p);
        const runner = new StageRunner(
          stage,
          { broker: env.broker, log: pino({ level: 'silent' }), registry: new Registry(), producer: p },
          options,
        );
        running.push(runner);
        await runner.start();
        return runner;
      };
      const produce = async (from: number, count: number, make?: (id: number) => Partial<Reading>) => {
        const records = [];
        for (let id = from; id < from + count; id++) {
          records.push({
            topic: inTopic,
            key: `m${id % 5}`,
            value: JSON.stringify({ id, key: `m${id % 5}`, ...make?.(id) }),
            headers: { trace: `t${id}` },
          });
        }
        await input.send(records);
      };
      const committedIn = async (groupId: string) => {
        const offsets = await admin.groupOffsets(groupId, inTopic);
        return offsets.reduce((sum, o) => sum + Math.max(0, Number(o.offset)), 0);
      };
      const committed = () => committedIn(group);
      const outputs = async () =>
        (await env.broker.readTopic(outTopic)).map((r) => JSON.parse(String(r.value)) as Reading);
      const deadLetters = () => env.broker.readTopic(dlqTopic);
      const wait = (check: () => Promise<boolean> | boolean, what: string) => eventually(check, what, env.timeoutMs);
      producers.push({ connect: async () => {}, send: async () => {}, disconnect: () => admin.disconnect() });
      return { start, produce, committed, committedIn, outputs, deadLetters, wait, inTopic, stageOverrides, naming };
    }

    it('delivers every record once, in order per key, and commits each partition to its end', async () => {
      const w = await world();
      await w.start(echoStage());
      await w.produce(0, 150);
      await w.wait(async () => (await w.committed()) === 150, 'commit of 150');
      const out = await w.outputs();
      expect(out.map((r) => r.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i));
      for (let k = 0; k < 5; k++) {
        const ids = out.filter((r) => r.key === `m${k}`).map((r) => r.id);
        expect(ids).toEqual([...ids].sort((a, b) => a - b));
      }
    });

    it('commits nothing while outputs are unacknowledged', async () => {
      const w = await world(1);
      const producer = new FaultyProducer(env.broker.producer());
      producer.hold();
      await w.start(echoStage(), producer);
      await w.produce(0, 20);
      await w.wait(() => producer.sends > 0, 'a send');
      expect(await w.committed()).toBe(0);
      producer.release();
      await w.wait(async () => (await w.committed()) === 20, 'commit after ack');
    });

    it('retries transient produce failures and loses nothing', async () => {
      const w = await world(1);
      const producer = new FaultyProducer(env.broker.producer());
      producer.failures = 2;
      await w.start(echoStage(), producer);
      await w.produce(0, 30);
      await w.wait(async () => (await w.committed()) === 30, 'commit of 30');
      expect((await w.outputs()).map((r) => r.id)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(producer.sends).toBeGreaterThanOrEqual(3);
    });

    it('dead-letters only the offending records with provenance headers', async () => {
      const w = await world(1);
      await w.start(
        echoStage(async (batch) => {
          if (batch.some((r) => r.bad)) throw new Error('bad reading');
          return batch.map((value) => ok({ value }));
        }),
      );
      await w.produce(0, 20, (id) => (id === 4 ? { bad: true } : {}));
      await w.wait(async () => (await w.committed()) === 20, 'commit of 20');
      expect((await w.outputs()).map((r) => r.id)).not.toContain(4);
      expect((await w.outputs()).length).toBe(19);
      const [dead] = await w.deadLetters();
      expect(dead?.headers[dlqHeader.code]?.toString()).toBe('process_error');
      expect(dead?.headers[dlqHeader.sourceOffset]?.toString()).toBe('4');
      expect(dead?.headers[dlqHeader.sourceTopic]?.toString()).toBe(w.inTopic);
      expect(dead?.headers.trace?.toString()).toBe('t4');
      expect(JSON.parse(String(dead?.value)).id).toBe(4);
    });

    it('stops on a fatal error and never commits past it', async () => {
      const w = await world(1);
      const runner = await w.start(
        echoStage(async (batch) => {
          if (batch.some((r) => r.id === 25)) throw new FatalError('incompatible schema', 'schema');
          return batch.map((value) => ok({ value }));
        }),
      );
      await w.produce(0, 40);
      await runner.finished;
      expect((runner.fatal as FatalError).code).toBe('schema');
      expect(await w.committed()).toBeLessThanOrEqual(25);
      expect((await w.outputs()).every((r) => r.id < 25)).toBe(true);
    });

    it('shares partitions between two members and loses nothing across the rebalance', async () => {
      const w = await world(4);
      const a = await w.start(echoStage());
      await w.produce(0, 100);
      await w.wait(async () => (await w.committed()) >= 20, 'progress of the first member');
      const b = await w.start(echoStage());
      await w.produce(100, 100);
      await w.wait(() => a.assignedPartitions().length === 2 && b.assignedPartitions().length === 2, 'a 2/2 split');
      await w.produce(200, 100);
      await w.wait(async () => (await w.committed()) === 300, 'commit of 300');
      const ids = new Set((await w.outputs()).map((r) => r.id));
      expect(ids.size).toBe(300);
    });

    it('drains and commits the in-flight batch on shutdown', async () => {
      const w = await world(1);
      const producer = new FaultyProducer(env.broker.producer());
      producer.hold();
      const runner = await w.start(echoStage(), producer);
      await w.produce(0, 10);
      await w.wait(() => producer.sends > 0, 'batch in flight');
      const stopping = runner.stop();
      producer.release();
      await stopping;
      // Fetching stopped; the batch that was in flight was delivered and committed, nothing beyond it.
      const delivered = (await w.outputs()).length;
      expect(delivered).toBeGreaterThan(0);
      expect(await w.committed()).toBe(delivered);
    });

    it('routes named outputs to their own topics, each with its own codec and key', async () => {
      const w = await world(2);
      const alertsTopic = `${env.prefix}.alerts.v1`;
      await w.start(
        echoStage(
          async (batch) =>
            batch.map((value) =>
              value.id % 4 === 0
                ? ok({ value }, toOutput(alerts, { reading: value.id, level: 'high' }))
                : ok({ value }),
            ),
          { sideOutputs: [alerts] },
        ),
      );
      await w.produce(0, 40);
      await w.wait(async () => (await w.committed()) === 40, 'commit of 40');
      expect((await w.outputs()).length).toBe(40);
      const raised = await env.broker.readTopic(alertsTopic);
      expect(raised.map((r) => String(r.key)).sort()).toEqual(
        Array.from({ length: 10 }, (_, i) => `alert-${i * 4}`).sort(),
      );
      // Its own codec: the alert's fields, not the reading's.
      expect(JSON.parse(String(raised.find((r) => String(r.key) === 'alert-8')?.value))).toEqual({
        reading: 8,
        level: 'high',
      });
    });

    it("a chain acknowledges its steps' side outputs before its storing sink stores offsets past them", async () => {
      const w = await world(1);
      const acknowledged = new Set<number>();
      const recording = new RecordingProducer(env.broker.producer(), (record) => {
        if (record.topic.endsWith('.alerts.v1')) acknowledged.add((JSON.parse(String(record.value)) as Alert).reading);
      });
      const violations: string[] = [];
      const flag: Stage<Reading, Reading> = {
        ...echoStage(async (batch) =>
          batch.map((value) =>
            value.id % 3 === 0 ? ok({ value }, toOutput(alerts, { reading: value.id, level: 'high' })) : ok({ value }),
          ),
        ),
        name: 'flag',
        output: { topic: 'mid.v1', codec: readingJson, key: (r) => r.key },
        sideOutputs: [alerts],
      };
      const stored = new Map<number, bigint>();
      const sink: Stage<Reading> = {
        name: 'sink',
        inputs: ['mid.v1'],
        input: readingJson,
        batch: { maxRecords: 7 },
        async process(batch, ctx) {
          for (const end of ctx.inputEnd ?? []) {
            for (let id = 0; id < Number(end.offset); id += 3) if (!acknowledged.has(id)) violations.push(`${id}`);
            stored.set(end.partition, BigInt(end.offset));
          }
          return batch.map(() => ok());
        },
        loadStoredOffsets: async () =>
          [...stored].map(([partition, offset]) => ({
            topic: w.inTopic,
            partition,
            offset: offset.toString(),
          })),
      };
      await w.start(chainStages([flag, sink], w.naming) as never, recording);
      await w.produce(0, 30);
      await w.wait(async () => (await w.committedIn(`${env.prefix}.stage.flag+sink`)) === 30, 'commit of 30');
      expect(stored.get(0)).toBe(30n);
      expect(violations).toEqual([]);
      expect([...acknowledged].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i * 3));
      // The main output passed in memory: the topic between the steps is not even created.
      const topics = env.broker.admin();
      await topics.connect();
      const existing = await topics.listTopics();
      await topics.disconnect();
      expect(existing).toContain(`${env.prefix}.alerts.v1`);
      expect(existing).not.toContain(`${env.prefix}.mid.v1`);
    });

    it('resumes a sink from the offsets it stores itself', async () => {
      const w = await world(1);
      await w.produce(0, 10);
      await w.start(
        echoStage(undefined, { loadStoredOffsets: async (tps) => tps.map((tp) => ({ ...tp, offset: '7' })) }),
      );
      await w.wait(async () => (await w.committed()) === 10, 'commit to the end');
      expect((await w.outputs()).map((r) => r.id)).toEqual([7, 8, 9]);
    });
  });
}
