/**
 * Partition-owned state on the real broker and PostgreSQL: the rolling-mean stage run by two
 * members, with one joining and then the other leaving mid-stream (each a kafkajs eager rebalance:
 * every partition revoked and its state rebuilt from PostgreSQL), emits exactly what one member
 * alone emits for the same input.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBroker } from '../../../pipeline/broker-kafka.js';
import { StageRunner } from '../../../pipeline/runner.js';
import {
  type MeterReading,
  meansByKey,
  type RollingMean,
  rollingMeanInput,
  rollingMeanStage,
  rollingMeanTopics,
} from '../../pipeline/rolling-mean-stage.js';
import { createTestDatabase, type TestDatabase } from '../data/test-database.js';
import { PgHistoryStore } from './rolling-mean-pg.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const broker = new KafkaBroker({ brokers, clientId: 'eaio-test', log, sessionTimeoutMs: 6_000 });
const partitions = 4;
const hour = 3_600_000;

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a stateful stage on the real broker', () => {
  let db: TestDatabase;
  const prefixes: string[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    const admin = broker.kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(`${p}.`)));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await db?.drop();
  });

  async function run(mode: 'alone' | 'shared', readings: readonly MeterReading[]) {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const naming = { prefix };
    const store = await PgHistoryStore.create(db.sql, `history_${mode}`);
    const make = () => {
      const stage = rollingMeanStage({
        store,
        windowMs: 6 * hour,
        allowedLatenessMs: 2 * hour,
        retentionMs: 48 * hour,
        maxRecords: 50,
      });
      const runner = new StageRunner(
        stage,
        { broker, log, registry: new Registry() },
        { naming, topicPartitions: partitions },
      );
      return { stage, runner };
    };
    const input = `${prefix}.${rollingMeanTopics.input}`;
    const group = `${prefix}.stage.rolling_mean`;
    const producer = broker.producer();
    const admin = broker.admin();
    await Promise.all([producer.connect(), admin.connect()]);
    const processed = async () =>
      (await admin.groupOffsets(group, input)).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    const send = async (from: number, to: number, slice = to - from, pauseMs = 0) => {
      for (let i = from; i < to; i += slice) {
        await producer.send(
          readings
            .slice(i, Math.min(to, i + slice))
            .map((r) => ({ topic: input, key: r.meter, value: JSON.stringify(r) })),
        );
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    };
    const first = make();
    const members = [first];
    try {
      await first.runner.start();
      const third = Math.floor(readings.length / 3);
      if (mode === 'shared') {
        await send(0, third);
        await until(async () => (await processed()) >= third / 2, 'history before the second member joins');
        const second = make();
        members.push(second);
        await second.runner.start();
        // Keep records coming through the rebalance.
        await send(third, 2 * third, 100, 100);
        await until(async () => second.runner.isReady() && first.runner.isReady(), 'both members hold partitions');
        await until(async () => (await processed()) >= 1.5 * third, 'both members at work');
        // The first leaves: the second takes every partition and rebuilds their state again.
        const leaving = first.runner.stop();
        await send(2 * third, readings.length, 100, 50);
        await leaving;
      } else {
        await send(0, readings.length);
      }
      await until(async () => (await processed()) === readings.length, 'every reading processed');
    } finally {
      for (const m of members) await m.runner.stop();
      await Promise.all([producer.disconnect(), admin.disconnect()]);
    }
    for (const m of members) expect(m.runner.fatal).toBeUndefined();
    const means = (await broker.readTopic(`${prefix}.${rollingMeanTopics.output}`)).map(
      (r) => JSON.parse(String(r.value)) as RollingMean,
    );
    return { means, builds: members.flatMap((m) => m.stage.builds) };
  }

  it('two members with a rebalance in the middle emit what one member alone emits (a re-sent output must be identical)', async () => {
    const readings = rollingMeanInput(40, 72);
    const alone = await run('alone', readings);
    const shared = await run('shared', readings);
    const expected = meansByKey(alone.means);
    const got = meansByKey(shared.means);
    expect(expected.size).toBe(readings.filter((r) => r.value !== -1).length);
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    const differing = [...expected].filter(([key, m]) => {
      const other = got.get(key);
      return other?.mean !== m.mean || other.count !== m.count;
    });
    expect(differing).toEqual([]);
    // Rebuilds found history, so the comparison covers state that moved between members.
    const rebuilt = shared.builds.filter((b) => b.items > 0);
    expect(rebuilt.length).toBeGreaterThanOrEqual(2);
    console.log(
      `stateful stage: ${shared.means.length - got.size} duplicate output(s) across the rebalances, ` +
        `rebuilds ${shared.builds.map((b) => `${b.partitions}p/${b.items}`).join(' ')}`,
    );
  });
});
