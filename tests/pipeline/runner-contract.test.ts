import { randomUUID } from 'node:crypto';
import { MemoryBroker } from '../../pipeline/broker-memory.js';
import { describeRunnerContract } from './runner-contract.js';

describeRunnerContract('the in-memory broker', async () => ({
  broker: new MemoryBroker({ maxBatchRecords: 8 }),
  prefix: `t${randomUUID().slice(0, 8)}`,
  timeoutMs: 5_000,
}));
