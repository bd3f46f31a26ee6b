import kafkajs from 'kafkajs';
import type { Env } from '../config/schema.js';
import type { ProduceRecord, ProducerPort } from '../pipeline/broker.js';

/**
 * The producer the CLI producers (replay) use, behind the runtime's `ProducerPort` so it can be
 * replaced by the runtime's kafkajs adapter (pipeline/broker-kafka.ts) without touching callers.
 * Idempotent, acks from all in-sync replicas, one request in flight (kafkajs needs that for
 * idempotence, and it keeps per-partition order across retries).
 */
const { Kafka, logLevel } = kafkajs;

export interface CliProducer extends ProducerPort {
  /** Creates the topics that are missing (EAIO_TOPIC_PARTITIONS, EAIO_TOPIC_REPLICATION). */
  ensureTopics(topics: readonly string[]): Promise<void>;
}

export function createCliProducer(env: Env, clientSuffix: string): CliProducer {
  const kafka = new Kafka({
    clientId: `${env.KAFKA_CLIENT_ID}-${clientSuffix}`,
    brokers: env.KAFKA_BROKERS.split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    logLevel: logLevel.ERROR,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(records: readonly ProduceRecord[]) {
      const byTopic = new Map<string, { key: string | Buffer | null; value: string | Buffer | null }[]>();
      for (const r of records) {
        const list = byTopic.get(r.topic) ?? [];
        list.push({ key: r.key, value: r.value });
        byTopic.set(r.topic, list);
      }
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    },
    async ensureTopics(topics) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const existing = new Set(await admin.listTopics());
        const missing = topics.filter((t) => !existing.has(t));
        if (missing.length === 0) return;
        await admin
          .createTopics({
            waitForLeaders: true,
            topics: missing.map((topic) => ({
              topic,
              numPartitions: env.EAIO_TOPIC_PARTITIONS,
              replicationFactor: env.EAIO_TOPIC_REPLICATION,
            })),
          })
          .catch((error: { type?: string }) => {
            // Another process created them meanwhile.
            if (error.type !== 'TOPIC_ALREADY_EXISTS') throw error;
          });
      } finally {
        await admin.disconnect();
      }
    },
  };
}
