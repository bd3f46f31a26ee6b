import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { describe, it } from 'vitest';
import { KafkaBroker } from '../../../pipeline/broker-kafka.js';
import { PlatformaticBroker } from '../../../pipeline/broker-platformatic.js';
import { platformaticRunsOn } from '../../../pipeline/platformatic-client.js';
import { describeRunnerContract } from '../../pipeline/runner-contract.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const log = pino({ level: 'silent' });

if (platformaticRunsOn(process.versions.node)) {
  describeRunnerContract('the real Kafka broker with @platformatic/kafka', async () => {
    const broker = new PlatformaticBroker({ brokers, clientId: 'eaio-test', log, sessionTimeoutMs: 6_000 });
    const prefix = `t${randomUUID().slice(0, 8)}`;
    return {
      broker,
      prefix,
      timeoutMs: 30_000,
      async cleanup() {
        const admin = new KafkaBroker({ brokers, clientId: 'eaio-test-cleanup', log }).kafka.admin();
        await admin.connect();
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
        await admin.deleteTopics({ topics }).catch(() => undefined);
        await admin.disconnect();
      },
    };
  });
} else {
  describe('runner contract with @platformatic/kafka', () => {
    it.skip(`needs Node.js 22.22+ or 24.6+ (this is ${process.versions.node})`, () => {});
  });
}
