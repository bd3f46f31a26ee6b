import { pino } from 'pino';
import type { Env } from '../../config/schema.js';
import type { ProducerPort } from '../../pipeline/index.js';
import { kafkaBrokerFromEnv } from '../../pipeline/index.js';

/**
 * The producer of the CLI producers (replay): the runtime's own adapter (KAFKA_CLIENT), so replayed
 * records are partitioned, size-bounded and acknowledged exactly like the stages' outputs.
 * Idempotent, acks from all in-sync replicas, one request in flight (per-partition order holds
 * across retries).
 */
export interface CliProducer extends ProducerPort {
  /** Creates the topics that are missing (EAIO_TOPIC_PARTITIONS, EAIO_TOPIC_REPLICATION). */
  ensureTopics(topics: readonly string[]): Promise<void>;
}

export function createCliProducer(env: Env, clientSuffix: string): CliProducer {
  const broker = kafkaBrokerFromEnv(
    { ...env, KAFKA_CLIENT_ID: `${env.KAFKA_CLIENT_ID}-${clientSuffix}` },
    pino({ level: 'error' }),
  );
  const producer = broker.producer();
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    send: (records) => producer.send(records),
    async ensureTopics(topics) {
      const admin = broker.admin();
      await admin.connect();
      try {
        await admin.ensureTopics(
          topics.map((topic) => ({
            topic,
            partitions: env.EAIO_TOPIC_PARTITIONS,
            replicationFactor: env.EAIO_TOPIC_REPLICATION,
          })),
        );
      } finally {
        await admin.disconnect();
      }
    },
  };
}
