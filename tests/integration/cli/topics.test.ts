/** `eaio topics partitions <n>` as a process on the real broker, with a throw-away topic prefix. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const admin = new kafkajs.Kafka({ clientId: 'eaio-test', brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
const prefix = `t${randomUUID().slice(0, 8)}`;
const topics = ['readings.raw.v1', 'readings.validated.v1', 'dlq.validate.v1'].map((t) => `${prefix}.${t}`);

async function eaioTopics(...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/eaio.mjs', 'topics', ...args], {
      env: { ...process.env, EAIO_TOPIC_PREFIX: prefix },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const counts = async () =>
  Object.fromEntries(
    (await admin.fetchTopicMetadata({ topics })).topics.map((t) => [
      t.name.slice(prefix.length + 1),
      t.partitions.length,
    ]),
  );

describe('eaio topics partitions', () => {
  beforeAll(() => admin.connect());
  afterAll(async () => {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates missing topics, raises existing ones with a warning, and refuses to lower them', async () => {
    const created = await eaioTopics('partitions', '2', 'validate');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`${prefix}.readings.raw.v1  created with partitions=2`);
    expect(await counts()).toEqual({ 'readings.raw.v1': 2, 'readings.validated.v1': 2, 'dlq.validate.v1': 2 });

    const raised = await eaioTopics('partitions', '5', 'validate');
    expect(raised.code, raised.stderr).toBe(0);
    expect(raised.stdout).toContain(`${prefix}.readings.validated.v1  partitions 2 → 5`);
    expect(raised.stderr).toMatch(/per-meter order holds only for records produced from now on/);
    expect(await counts()).toEqual({ 'readings.raw.v1': 5, 'readings.validated.v1': 5, 'dlq.validate.v1': 5 });

    const again = await eaioTopics('partitions', '5', 'validate');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${prefix}.dlq.validate.v1  partitions=5 (unchanged)`);
    expect(again.stderr).toBe('');

    const lower = await eaioTopics('partitions', '3', 'validate');
    expect(lower.code).toBe(1);
    expect(lower.stdout).toMatch(/partitions=5, more than 3: left as it is/);
    expect(await counts()).toEqual({ 'readings.raw.v1': 5, 'readings.validated.v1': 5, 'dlq.validate.v1': 5 });
  });

  it('rejects a count that is not a positive integer before touching the broker', async () => {
    const bad = await eaioTopics('partitions', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/topics partitions <n> must be a positive integer/);
  });
});
