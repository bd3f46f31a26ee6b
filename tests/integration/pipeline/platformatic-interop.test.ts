/**
 * The platformatic adapter beside kafkajs on the real broker: keys land on the same partitions,
 * concurrent idempotent sends arrive exactly once, both clients share one consumer group (a mixed
 * fleet, then a switch) keeping per-key order, and fetched batches stay within their byte bound.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { Broker, ConsumerPort, ProduceRecord, ProducerPort } from '../../../pipeline/broker.js';
import { KafkaBroker } from '../../../pipeline/broker-kafka.js';
import { PlatformaticBroker } from '../../../pipeline/broker-platformatic.js';
import { partitionForKey } from '../../../pipeline/murmur2.js';
import { platformaticRunsOn } from '../../../pipeline/platformatic-client.js';
import { StageRunner } from '../../../pipeline/runner.js';
import { ServiceUnreachableError } from '../../../pipeline/service-unreachable.js';
import { ok, type RawRecord } from '../../../pipeline/stage.js';
import { echoStage, type Reading } from '../../pipeline/helpers.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const log = pino({ level: 'silent' });
const prefix = `t${randomUUID().slice(0, 8)}`;
const kafkajs = new KafkaBroker({ brokers, clientId: 'eaio-test', log, sessionTimeoutMs: 6_000 });

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function createTopic(name: string, partitions: number): Promise<string> {
  const topic = `${prefix}.${name}`;
  const admin = kafkajs.admin();
  await admin.connect();
  await admin.ensureTopics([{ topic, partitions, replicationFactor: 1 }]);
  await admin.disconnect();
  return topic;
}

async function connected(broker: Broker): Promise<ProducerPort> {
  const producer = broker.producer();
  await producer.connect();
  return producer;
}

const runs = platformaticRunsOn(process.versions.node);

describe.skipIf(!runs)('the platformatic adapter beside kafkajs', () => {
  const platformatic = new PlatformaticBroker({ brokers, clientId: 'eaio-test', log, sessionTimeoutMs: 6_000 });

  afterAll(async () => {
    const admin = kafkajs.kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it('puts every key on the partition kafkajs and the Java client choose, and both read the same records', async () => {
    const topic = await createTopic('parity.v1', 7);
    const keys = [
      ...Array.from({ length: 300 }, (_, i) => `meter-${i}`),
      '',
      'zähler-ü-€',
      Buffer.from([0, 255, 128, 7, 1]).toString('latin1'),
    ];
    const send = (producer: ProducerPort, by: string) =>
      producer.send(keys.map((key) => ({ topic, key, value: by, headers: { by } })));
    for (const [broker, by] of [
      [kafkajs, 'kafkajs'],
      [platformatic, 'platformatic'],
    ] as const) {
      const producer = await connected(broker);
      await send(producer, by);
      await producer.disconnect();
    }
    const byKafkajs = await kafkajs.readTopic(topic);
    const byPlatformatic = await platformatic.readTopic(topic);
    const summary = (records: readonly RawRecord[]) =>
      records
        .map((r) => `${r.partition}/${r.offset}/${r.key?.toString('hex')}/${String(r.value)}/${r.headers.by}`)
        .sort();
    expect(summary(byPlatformatic)).toEqual(summary(byKafkajs));
    expect(byKafkajs).toHaveLength(2 * keys.length);
    const partitionOf = (by: string) =>
      new Map(byKafkajs.filter((r) => String(r.value) === by).map((r) => [r.key?.toString('hex'), r.partition]));
    const viaKafkajs = partitionOf('kafkajs');
    const viaPlatformatic = partitionOf('platformatic');
    for (const key of keys) {
      const bytes = Buffer.from(key);
      const expected = partitionForKey(bytes, 7);
      expect(viaKafkajs.get(bytes.toString('hex'))).toBe(expected);
      expect(viaPlatformatic.get(bytes.toString('hex'))).toBe(expected);
    }
    expect(new Set(viaPlatformatic.values()).size).toBe(7);
  });

  it('delivers every record of many concurrent idempotent sends exactly once', async () => {
    const topic = await createTopic('concurrent.v1', 3);
    const producer = await connected(platformatic);
    // The pattern of the client's issue #326: a fresh idempotent producer, single-record sends to
    // one partition all in flight at once; then multi-record sends over every partition.
    const single = Array.from({ length: 200 }, (_, i) => producer.send([{ topic, key: 'one', value: `s${i}` }]));
    const multi = Array.from({ length: 100 }, (_, i) =>
      producer.send(
        Array.from({ length: 10 }, (_, j) => ({ topic, key: `k${(i * 10 + j) % 23}`, value: `m${i * 10 + j}` })),
      ),
    );
    await Promise.all([...single, ...multi]);
    await producer.disconnect();
    const values = (await kafkajs.readTopic(topic)).map((r) => String(r.value));
    expect(values).toHaveLength(1_200);
    expect(new Set(values)).toEqual(
      new Set([...Array.from({ length: 200 }, (_, i) => `s${i}`), ...Array.from({ length: 1_000 }, (_, i) => `m${i}`)]),
    );
  });

  it('shares one consumer group with a kafkajs worker, then takes over, keeping per-key order', async () => {
    const inTopic = await createTopic('in.v1', 4);
    const outTopic = `${prefix}.out.v1`;
    const group = `${prefix}.stage.echo`;
    const start = async (broker: Broker) => {
      const runner = new StageRunner(
        echoStage(),
        { broker, log, registry: new Registry() },
        {
          naming: { prefix },
          topicPartitions: 4,
          commitIntervalMs: 0,
          random: () => 0,
          retry: { baseMs: 5, capMs: 5, maxAttempts: 5, maxElapsedMs: 60_000 },
        },
      );
      await runner.start();
      return runner;
    };
    const input = await connected(kafkajs);
    const produce = (from: number, count: number) =>
      input.send(
        Array.from({ length: count }, (_, i) => ({
          topic: inTopic,
          key: `m${(from + i) % 9}`,
          value: JSON.stringify({ id: from + i, key: `m${(from + i) % 9}` }),
        })),
      );
    const admin = kafkajs.admin();
    await admin.connect();
    const committed = async () =>
      (await admin.groupOffsets(group, inTopic)).reduce((sum, o) => sum + Math.max(0, Number(o.offset)), 0);

    const older = await start(kafkajs);
    await produce(0, 100);
    await eventually(async () => (await committed()) >= 20, 'progress of the kafkajs member');
    const newer = await start(platformatic);
    await produce(100, 100);
    await eventually(
      () => older.assignedPartitions().length === 2 && newer.assignedPartitions().length === 2,
      'a 2/2 split between kafkajs and platformatic',
    );
    const members = await admin.groupMembers(group);
    expect(members).toHaveLength(2);
    await produce(200, 100);
    await eventually(async () => (await committed()) === 300, 'commit of 300 by the mixed group');
    await older.stop();
    await eventually(() => newer.assignedPartitions().length === 4, 'the platformatic member taking every partition');
    await produce(300, 100);
    await eventually(async () => (await committed()) === 400, 'commit of 400 after the switch');
    await newer.stop();
    await input.disconnect();
    await admin.disconnect();

    const out = await kafkajs.readTopic(outTopic);
    const readings = out.map((r) => ({
      partition: r.partition,
      offset: BigInt(r.offset),
      ...(JSON.parse(String(r.value)) as Reading),
    }));
    expect(new Set(readings.map((r) => r.id)).size).toBe(400);
    for (let k = 0; k < 9; k++) {
      const ofKey = readings.filter((r) => r.key === `m${k}`).sort((a, b) => (a.offset < b.offset ? -1 : 1));
      // Written by both clients, a key's outputs still share one partition...
      expect(new Set(ofKey.map((r) => r.partition))).toEqual(new Set([partitionForKey(Buffer.from(`m${k}`), 4)]));
      // ...and, counting only first deliveries (a rebalance may repeat some), in input order.
      const seen = new Set<number>();
      const firsts = ofKey.filter((r) => !seen.has(r.id) && seen.add(r.id)).map((r) => r.id);
      expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    }
  });

  it('loses nothing when members come and go while slow batches are in flight', async () => {
    const naming = { prefix: `${prefix}.busy` };
    const inTopic = await createTopic('busy.in.v1', 4);
    const group = `${prefix}.busy.stage.echo`;
    const total = 2_400;
    // Chunks of 40 taking 250 ms each: a rebalance finds batches in their handlers.
    const slow = () =>
      echoStage(
        async (batch) => {
          await new Promise((r) => setTimeout(r, 250));
          return batch.map((value) => ok({ value }));
        },
        { batch: { maxRecords: 40 } },
      );
    const start = async () => {
      const runner = new StageRunner(
        slow(),
        { broker: platformatic, log, registry: new Registry() },
        { naming, topicPartitions: 4, commitIntervalMs: 50 },
      );
      await runner.start();
      return runner;
    };
    const input = await connected(kafkajs);
    await input.send(
      Array.from({ length: total }, (_, id) => ({
        topic: inTopic,
        key: `m${id % 13}`,
        value: JSON.stringify({ id, key: `m${id % 13}` }),
      })),
    );
    await input.disconnect();
    const admin = kafkajs.admin();
    await admin.connect();
    const committed = async () =>
      (await admin.groupOffsets(group, inTopic)).reduce((sum, o) => sum + Math.max(0, Number(o.offset)), 0);
    const a = await start();
    await eventually(async () => (await committed()) >= 300, 'progress of the first member');
    const b = await start();
    await eventually(async () => (await committed()) >= 900, 'progress of two members');
    const c = await start();
    await eventually(async () => (await committed()) >= 1_500, 'progress of three members');
    await a.stop();
    await eventually(async () => (await committed()) === total, 'commit of everything', 60_000);
    await Promise.all([b.stop(), c.stop()]);
    await admin.disconnect();
    const out = await kafkajs.readTopic(`${prefix}.busy.out.v1`);
    const ids = new Set(out.map((r) => (JSON.parse(String(r.value)) as Reading).id));
    expect(ids.size).toBe(total);
  });

  it('joins a group and rebalances about as fast as kafkajs', async () => {
    // The echo stage reads `in.v1` under its naming prefix; no record flows, so no other topic is needed.
    await createTopic('join.in.v1', 4);
    const timings = async (broker: Broker, name: string) => {
      const runner = (stage: string) =>
        new StageRunner(
          { ...echoStage(), name: `${name}-${stage}` },
          { broker, log, registry: new Registry() },
          { naming: { prefix: `${prefix}.join` }, topicPartitions: 4, createTopics: false },
        );
      const first = runner('a');
      const second = runner('a');
      let started = performance.now();
      await first.start();
      await eventually(() => first.assignedPartitions().length === 4, 'the first member assigned');
      const join = performance.now() - started;
      started = performance.now();
      await second.start();
      await eventually(
        () => first.assignedPartitions().length === 2 && second.assignedPartitions().length === 2,
        'a 2/2 split',
      );
      const rebalance = performance.now() - started;
      await Promise.all([first.stop(), second.stop()]);
      return { join, rebalance };
    };
    const viaKafkajs = await timings(kafkajs, 'kafkajs');
    const viaPlatformatic = await timings(platformatic, 'platformatic');
    console.info(
      `group join / 2-member rebalance (ms): kafkajs ${viaKafkajs.join.toFixed(0)} / ${viaKafkajs.rebalance.toFixed(0)}, platformatic ${viaPlatformatic.join.toFixed(0)} / ${viaPlatformatic.rebalance.toFixed(0)}`,
    );
    expect(viaPlatformatic.join).toBeLessThan(2 * viaKafkajs.join + 1_000);
    expect(viaPlatformatic.rebalance).toBeLessThan(2 * viaKafkajs.rebalance + 1_000);
  });

  it('keeps each fetched batch within the byte bound per partition', async () => {
    const topic = await createTopic('bounded.v1', 1);
    const producer = await connected(kafkajs);
    const value = 'x'.repeat(1_000);
    for (let s = 0; s < 40; s++)
      await producer.send(
        Array.from({ length: 10 }, (_, i) => ({ topic, key: `k${i}`, value }) satisfies ProduceRecord),
      );
    await producer.disconnect();
    const bound = 64 * 1024;
    const small = new PlatformaticBroker({ brokers, clientId: 'eaio-test', log, maxBytesPerPartition: bound });
    const consumer: ConsumerPort = small.consumer({ groupId: `${prefix}.bounded` });
    const sizes: number[] = [];
    let received = 0;
    await consumer.connect();
    await consumer.subscribe([topic]);
    await consumer.run({
      async onBatch(batch) {
        sizes.push(batch.records.reduce((sum, r) => sum + (r.value?.length ?? 0) + (r.key?.length ?? 0), 0));
        received += batch.records.length;
        batch.resolveOffset((batch.records.at(-1) as RawRecord).offset);
      },
      onAssigned: async () => {},
      onRevoked: async () => {},
      onRebalancing: async () => {},
      onCrash: (error) => {
        throw error;
      },
    });
    await eventually(() => received >= 400, 'all 400 records');
    await consumer.stop();
    await consumer.disconnect();
    expect(received).toBe(400);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(bound);
    expect(sizes.length).toBeGreaterThanOrEqual(Math.ceil((400 * 1_002) / bound));
  });

  it('names the broker and the reason when nothing answers', async () => {
    const nowhere = new PlatformaticBroker({ brokers: ['127.0.0.1:1'], clientId: 'eaio-test', log });
    const error = await nowhere.probe(1_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnreachableError);
    expect((error as ServiceUnreachableError).message).toContain('127.0.0.1:1');
    expect((error as ServiceUnreachableError).reason).toMatch(/ECONNREFUSED/);
  });
});
