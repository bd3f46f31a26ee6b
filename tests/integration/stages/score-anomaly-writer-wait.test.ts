/**
 * score_anomaly after a restart, with write_hypertable in its own group and behind: on the real
 * Kafka (the scored topic's end offsets) and PostgreSQL (the writer's stored offsets and rows), the
 * rebuild waits for the writer and then scores exactly as a stage that never stopped.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../../config/load.js';
import type { EnrichedReading, ScoredReading } from '../../../domain/messages.js';
import { type Envelope, KafkaBroker, type StageContext, type StageResult } from '../../../pipeline/index.js';
import { loadAttributes } from '../../../stages/score_anomaly/attributes.js';
import { type AnomalyModel, loadAnomalyModel } from '../../../stages/score_anomaly/model.js';
import { createScoreAnomalyStage } from '../../../stages/score_anomaly/stage.js';
import { writerToWaitFor } from '../../../stages/score_anomaly/writer-lag.js';
import { scoredReadingCodec } from '../../../stages/shared/message-codecs.js';
import { createWriteHypertableStage } from '../../../stages/write_hypertable/stage.js';
import { enriched, envelope, MemorySources, normal } from '../../stages/score_anomaly/stage-fixtures.js';
import { createTestDatabase, type TestDatabase } from './pg-test-db.js';

const env = loadEnv();
const log = pino({ level: 'silent' });
const kafka = new KafkaBroker({ brokers: env.KAFKA_BROKERS.split(','), clientId: 'eaio-test', log });
const prefix = `t${randomUUID().slice(0, 8)}`;
const naming = { prefix };
let db: TestDatabase;
let model: AnomalyModel;

beforeAll(async () => {
  db = await createTestDatabase();
  model = await loadAnomalyModel(fileURLToPath(new URL('../../../models/anomaly/anomaly.onnx', import.meta.url)));
});
afterAll(async () => {
  const admin = kafka.kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  await model?.release();
  await db?.drop();
});

const ctx = (): StageContext => ({ stage: 'score_anomaly', log, signal: new AbortController().signal });
const scoredOf = (results: readonly StageResult<ScoredReading>[]) =>
  results.flatMap((r) => (r.kind === 'ok' ? r.outputs.filter((o) => o.output === undefined).map((o) => o.value) : []));

describe('score_anomaly waits for write_hypertable on Kafka and PostgreSQL', () => {
  const records = Array.from({ length: 24 * 12 }, (_, h) => envelope(enriched(h, normal(h))));
  const cut = 24 * 11;

  it('defers the first batch until the writer stored what was scored, then scores as if it never stopped', async () => {
    const writerGroup = `${prefix}.stage.write_hypertable`;
    const where = writerToWaitFor(naming, `${prefix}.stage.validate+enrich_weather+score_anomaly`, env);
    expect(where).toMatchObject({ group: writerGroup, topic: `${prefix}.readings.scored.v1` });
    const topic = where?.topic as string;

    // What a stage that never stopped scores on day 12.
    const memory = new MemorySources(new Map(), [], await loadAttributes(db.sql));
    const reference = createScoreAnomalyStage({ sources: memory, model });
    const before = scoredOf(await reference.process(records.slice(0, cut), ctx()));
    const expected = scoredOf(await reference.process(records.slice(cut), ctx()));

    // The stage that stopped had produced days 1–11 to the scored topic…
    const admin = kafka.admin();
    await admin.connect();
    await admin.ensureTopics([{ topic, partitions: 1, replicationFactor: 1 }]);
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send(before.map((s) => ({ topic, key: s.meter_id, value: JSON.stringify(s) })));
    await producer.disconnect();
    const onTopic = await kafka.readTopic(topic);
    expect(onTopic).toHaveLength(cut);
    // …and the writer, in its own group, had stored days 1–10 only.
    const writer = createWriteHypertableStage({ sql: db.sql, offsetsGroup: writerGroup });
    const write = async (from: number, to: number) => {
      const batch = onTopic.slice(from, to).map((raw) => {
        const decoded = scoredReadingCodec.decode(raw);
        if (!decoded.ok) throw new Error(decoded.message);
        return { value: decoded.value, raw };
      });
      expect((await writer.process(batch, ctx())).every((r) => r.kind === 'ok')).toBe(true);
    };
    await write(0, 24 * 10);

    const stage = createScoreAnomalyStage({
      sql: db.sql,
      model,
      partitionCount: 1,
      writer: where,
      config: { rebuildWaitMs: 60_000 },
    });
    await stage.init?.(ctx());
    await stage.onPartitionsAssigned?.([{ topic: 'test.readings.enriched.v1', partition: 0 }], ctx());
    expect(stage.waitingForWriter()).toEqual([0]);
    const day12 = records.slice(cut) as Envelope<EnrichedReading>[];
    const held = await stage.process(day12, ctx());
    expect(held[0]).toMatchObject({ kind: 'defer', reason: 'history_not_stored' });

    // Without the wait the rebuild would lack day 11 (the test would prove nothing otherwise).
    const impatient = createScoreAnomalyStage({ sql: db.sql, model, partitionCount: 1, config: { rebuildWaitMs: 0 } });
    await impatient.init?.(ctx());
    await impatient.onPartitionsAssigned?.([{ topic: 'test.readings.enriched.v1', partition: 0 }], ctx());
    expect(scoredOf(await impatient.process(day12, ctx()))).not.toEqual(expected);
    await impatient.close?.();

    await write(24 * 10, cut);
    const after = scoredOf(await stage.process(day12, ctx()));
    expect(stage.waitingForWriter()).toEqual([]);
    expect(after).toEqual(expected);
    expect(after[0]?.confidence).toBe(1);
    await stage.close?.();
  });
});
