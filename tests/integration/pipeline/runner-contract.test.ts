import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { KafkaBroker } from '../../../pipeline/broker-kafka.js';
import { describeRunnerContract } from '../../pipeline/runner-contract.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

describeRunnerContract('the real Kafka broker', async () => {
  const broker = new KafkaBroker({
    brokers,
    clientId: 'eaio-test',
    log: pino({ level: 'silent' }),
    sessionTimeoutMs: 6_000,
  });
  const prefix = `t${randomUUID().slice(0, 8)}`;
  return {
    broker,
    prefix,
    timeoutMs: 30_000,
    async cleanup() {
      const admin = broker.kafka.admin();
      await admin.connect();
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
    },
  };
});
