/**
 * Real worker processes (`eaio run passthrough`) on the real broker, with each Kafka client
 * (KAFKA_CLIENT): two members share the partitions and a rebalance mid-stream loses nothing;
 * `kill -9` mid-stream never leaves a commit past an unacknowledged output, and a restart
 * delivers every record at least once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EAIO_NODE_FLAGS } from '../../../cli/node-flags.js';
import { platformaticRunsOn } from '../../../pipeline/platformatic-client.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const kafka = new kafkajs.Kafka({ clientId: 'eaio-test', brokers, logLevel: kafkajs.logLevel.NOTHING });
const admin = kafka.admin();
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const partitions = 4;
/** platformatic needs a newer Node.js than kafkajs: on an older one only kafkajs is exercised. */
const clients = platformaticRunsOn(process.versions.node) ? ['kafkajs', 'platformatic'] : ['kafkajs'];

interface Worker {
  readonly child: ChildProcess;
  readonly port: Promise<number>;
  readonly exit: Promise<number | null>;
}

function startWorker(prefix: string, client: string, args: string[] = []): Worker {
  const child = spawn(process.execPath, [...EAIO_NODE_FLAGS, 'bin/eaio.mjs', 'run', 'passthrough', ...args], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      EAIO_TOPIC_PREFIX: prefix,
      KAFKA_CLIENT: client,
      EAIO_TOPIC_PARTITIONS: String(partitions),
      METRICS_PORT: '0',
      EAIO_PROMETHEUS_SD_DIR: mkdtempSync(join(tmpdir(), 'eaio-sd-')),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'metrics server listening' && entry.port) resolve(entry.port);
      } catch {}
    });
    child.once('exit', () => reject(new Error('worker exited before listening')));
  });
  port.catch(() => undefined);
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))),
  );
  return { child, port, exit };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ready = async (w: Worker) => (await fetch(`http://127.0.0.1:${await w.port}/readyz`)).status === 200;

async function readAll(topic: string): Promise<{ partition: number; offset: bigint; id: number }[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const remaining = new Map(
    ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, BigInt(e.high)]),
  );
  const out: { partition: number; offset: bigint; id: number }[] = [];
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (BigInt(m.offset) < (remaining.get(batch.partition) ?? 0n))
            out.push({ partition: batch.partition, offset: BigInt(m.offset), id: Number(String(m.value)) });
        }
        if (BigInt(batch.lastOffset()) + 1n >= (remaining.get(batch.partition) ?? 0n))
          remaining.delete(batch.partition);
        if (remaining.size === 0) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

async function committed(group: string, topic: string): Promise<Map<number, bigint>> {
  const [result] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return new Map((result?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
}

async function produceRange(topic: string, from: number, count: number): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: count }, (_, i) => ({ key: `m${(from + i) % 50}`, value: String(from + i) })),
  });
}

// One connection for every client's tests: kafkajs does not reconnect a disconnected client reliably.
beforeAll(async () => {
  await Promise.all([admin.connect(), producer.connect()]);
});
afterAll(async () => {
  await Promise.all([admin.disconnect(), producer.disconnect()]);
});

describe.each(clients)('worker processes on the real broker with %s', (client) => {
  async function topicsFor(prefix: string) {
    const inTopic = `${prefix}.bench.in.v1`;
    const outTopic = `${prefix}.bench.out.v1`;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [inTopic, outTopic].map((topic) => ({ topic, numPartitions: partitions })),
    });
    return { inTopic, outTopic, group: `${prefix}.stage.passthrough` };
  }

  it('two processes share the partitions and a rebalance mid-stream loses nothing', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const { inTopic, outTopic, group } = await topicsFor(prefix);
    const a = startWorker(prefix, client);
    const workers = [a];
    try {
      await until(() => ready(a), 'first worker ready');
      let sent = 0;
      for (; sent < 1_000; sent += 100) await produceRange(inTopic, sent, 100);
      const b = startWorker(prefix, client);
      workers.push(b);
      // Keep producing through the rebalance.
      for (; sent < 3_000; sent += 100) {
        await produceRange(inTopic, sent, 100);
        await new Promise((r) => setTimeout(r, 20));
      }
      await until(() => ready(b), 'second worker ready');
      await until(async () => {
        const { groups } = await admin.describeGroups([group]);
        return groups[0]?.members.length === 2 && groups[0].state === 'Stable';
      }, 'two stable members');
      for (; sent < 4_000; sent += 100) await produceRange(inTopic, sent, 100);
      await until(
        async () => new Set((await readAll(outTopic)).map((r) => r.id)).size === 4_000,
        'all 4000 ids downstream',
      );
      const members = (await admin.describeGroups([group])).groups[0]?.members ?? [];
      const shares = members.map(
        (m) => kafkajs.AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[inTopic]?.length ?? 0,
      );
      expect(shares.sort()).toEqual([2, 2]);
      for (const w of workers) w.child.kill('SIGTERM');
      expect(await Promise.all(workers.map((w) => w.exit))).toEqual([0, 0]);
      const offsets = await committed(group, inTopic);
      expect([...offsets.values()].reduce((s, o) => s + o, 0n)).toBe(4_000n);
    } finally {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  });

  it('kill -9 mid-stream never commits past an unacknowledged output; a restart delivers everything', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const { inTopic, outTopic, group } = await topicsFor(prefix);
    const first = startWorker(prefix, client);
    let second: Worker | undefined;
    try {
      await until(() => ready(first), 'worker ready');
      let sent = 0;
      const total = 20_000;
      let killed = false;
      for (; sent < total; sent += 500) {
        await produceRange(inTopic, sent, 500);
        if (!killed && sent >= 8_000) {
          first.child.kill('SIGKILL');
          killed = true;
        }
      }
      expect(await first.exit).toBe(-1);

      // Every input offset below the committed watermark has its output downstream.
      const offsets = await committed(group, inTopic);
      const inputs = await readAll(inTopic);
      const downstream = new Set((await readAll(outTopic)).map((r) => r.id));
      const covered = inputs.filter((r) => r.offset < (offsets.get(r.partition) ?? -1n));
      expect(covered.length).toBeGreaterThan(0);
      expect(covered.filter((r) => !downstream.has(r.id))).toEqual([]);

      second = startWorker(prefix, client, ['--exit-when-idle']);
      expect(await second.exit).toBe(0);
      const after = await readAll(outTopic);
      const ids = new Set(after.map((r) => r.id));
      expect(ids.size).toBe(total);
      console.log(`kill -9 (${client}): ${after.length - total} duplicate(s) downstream out of ${total}`);
    } finally {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
      if (second && second.child.exitCode === null) second.child.kill('SIGKILL');
    }
  });
});
