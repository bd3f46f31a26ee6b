import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../pipeline/broker-memory.js';
import { runWorker } from '../../pipeline/worker.js';
import { echoStage, eventually } from './helpers.js';

/** A worker whose only batch is stuck waiting for an acknowledgement that never comes. */
async function stuckWorker(drainTimeoutMs: number) {
  const broker = new MemoryBroker();
  broker.createTopic('s.in.v1', 1);
  broker.append({ topic: 's.in.v1', key: 'k', value: '{"id":1,"key":"k"}' });
  const release = broker.holdSends();
  const stage = echoStage();
  const exit = runWorker({
    stages: [stage],
    broker,
    log: pino({ level: 'silent' }),
    runner: { naming: { prefix: 's' }, topicPartitions: 1 },
    drainTimeoutMs,
  });
  await eventually(() => stage.seen.length === 1, 'batch in flight');
  return { exit, release, broker };
}

describe('worker shutdown', () => {
  it('first signal drains and commits, exit 0', async () => {
    const { exit, release, broker } = await stuckWorker(60_000);
    process.emit('SIGTERM');
    release();
    expect(await exit).toBe(0);
    expect(broker.committed('s.stage.echo', { topic: 's.in.v1', partition: 0 })).toBe(1n);
  });

  it('a second signal aborts with a non-zero exit and commits nothing unacknowledged', async () => {
    const { exit, broker } = await stuckWorker(60_000);
    process.emit('SIGTERM');
    process.emit('SIGINT');
    expect(await exit).toBe(130);
    expect(broker.committed('s.stage.echo', { topic: 's.in.v1', partition: 0 })).toBeUndefined();
  });

  it('a drain that outlives its timeout aborts with a non-zero exit', async () => {
    const { exit } = await stuckWorker(20);
    process.emit('SIGTERM');
    expect(await exit).toBe(130);
  });
});
