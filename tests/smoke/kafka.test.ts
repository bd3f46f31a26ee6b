import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../config/load.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

const env = loadEnv();
const run = `${Date.now()}-${process.pid}`;
const topic = `smoke.kafka.${run}`;
const groupId = `smoke-group-${run}`;
const MESSAGES = 30;

describe('Kafka (local stack)', () => {
  const kafka = new Kafka({
    clientId: `${env.KAFKA_CLIENT_ID}-smoke`,
    brokers: env.KAFKA_BROKERS.split(','),
    logLevel: logLevel.WARN,
    connectionTimeout: 5_000,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });

  beforeAll(async () => {
    await admin.connect();
    // The broker runs with auto.create.topics.enable=false: every topic is created explicitly.
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    expect(created).toBe(true);
  });

  afterAll(async () => {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates a 3-partition topic', async () => {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(3);
  });

  it('produces idempotently with acks=all, consumes in a group, commits and reads the offsets back', async () => {
    await producer.connect();
    const messages = Array.from({ length: MESSAGES }, (_, i) => ({ key: `meter-${i % 7}`, value: `reading-${i}` }));
    const acks = await producer.send({ topic, acks: -1, messages });
    expect(acks.every((a) => a.errorCode === 0)).toBe(true);

    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Map<number, number>(); // partition -> next offset to commit
    let received = 0;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received}/${MESSAGES} messages within 60 s`)), 60_000);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            received += 1;
            seen.set(partition, Number(message.offset) + 1);
            if (received === MESSAGES) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await done;
    expect(received).toBe(MESSAGES);

    await consumer.commitOffsets(
      [...seen].map(([partition, offset]) => ({ topic, partition, offset: String(offset) })),
    );

    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed?.topic).toBe(topic);
    const byPartition = Object.fromEntries((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    const latest = await admin.fetchTopicOffsets(topic);
    for (const p of latest) {
      // Each partition's committed offset is its high watermark: everything produced was consumed.
      expect(byPartition[p.partition]).toBe(Number(p.high));
    }
    const total = Object.values(byPartition).reduce((a, b) => a + Math.max(b, 0), 0);
    expect(total).toBe(MESSAGES);
  });
});
