/**
 * score_anomaly on the real PostgreSQL: its history rebuilt from meter_readings after a restart
 * scores exactly as a stage that never stopped, and the writer stores the scores and the flagged
 * readings (the anomalies table) exactly once, a replay and a correction included.
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedReading, ScoredReading } from '../../../domain/messages.js';
import type { Envelope, StageContext, StageResult } from '../../../pipeline/index.js';
import { loadAttributes } from '../../../stages/score_anomaly/attributes.js';
import { type AnomalyModel, loadAnomalyModel } from '../../../stages/score_anomaly/model.js';
import { createScoreAnomalyStage, type ScoreAnomalyStage } from '../../../stages/score_anomaly/stage.js';
import { createWriteHypertableStage } from '../../../stages/write_hypertable/stage.js';
import { enriched, envelope, MemorySources, normal } from '../../stages/score_anomaly/stage-fixtures.js';
import { createTestDatabase, type TestDatabase } from './pg-test-db.js';

let db: TestDatabase;
let model: AnomalyModel;
beforeAll(async () => {
  db = await createTestDatabase();
  model = await loadAnomalyModel(fileURLToPath(new URL('../../../models/anomaly/anomaly.onnx', import.meta.url)));
});
afterAll(async () => {
  await model?.release();
  await db?.drop();
});

const ctx = (): StageContext => ({
  stage: 'test',
  log: pino({ level: 'silent' }),
  signal: new AbortController().signal,
});
const TOPIC = 'test.readings.enriched.v1';
const scoredOf = (results: readonly StageResult<ScoredReading>[]) =>
  results.flatMap((r) => (r.kind === 'ok' ? r.outputs.filter((o) => o.output === undefined).map((o) => o.value) : []));

async function scoreAll(stage: ScoreAnomalyStage, records: readonly Envelope<EnrichedReading>[], size = 48) {
  const scored: ScoredReading[] = [];
  for (let i = 0; i < records.length; i += size)
    scored.push(...scoredOf(await stage.process(records.slice(i, i + size), ctx())));
  return scored;
}

/** The writer, as the pipeline runs it after the scorer. */
async function write(scored: readonly ScoredReading[]) {
  const writer = createWriteHypertableStage({ sql: db.sql, offsetsGroup: 'score-test' });
  const scoredTopic = 'test.readings.scored.v1';
  const results = await writer.process(
    scored.map((s) => ({ ...envelope(s as unknown as EnrichedReading, 0, scoredTopic), value: s })),
    ctx(),
  );
  expect(results.every((r) => r.kind === 'ok')).toBe(true);
}

describe('score_anomaly with PostgreSQL', () => {
  // Ten normal days, a stuck-at-zero stretch on day 11, then normal again.
  const records = Array.from({ length: 24 * 12 }, (_, h) =>
    envelope(enriched(h, h >= 24 * 10 + 6 && h < 24 * 10 + 14 ? 0 : normal(h))),
  );
  const cut = 24 * 10;

  it('rebuilds a meter’s history from meter_readings after a restart: scores equal an uninterrupted run', async () => {
    // The same catalog as the database's, in memory.
    const sources = async () => new MemorySources(new Map(), [], await loadAttributes(db.sql));
    const reference = await scoreAll(createScoreAnomalyStage({ sources: await sources(), model }), records);

    const first = createScoreAnomalyStage({ sql: db.sql, model, partitionCount: 1 });
    await first.init?.(ctx());
    await first.onPartitionsAssigned?.([{ topic: TOPIC, partition: 0 }], ctx());
    const before = await scoreAll(first, records.slice(0, cut));
    await write(before);
    await first.close?.();

    // A new process: its state comes from the table only.
    const second = createScoreAnomalyStage({ sql: db.sql, model, partitionCount: 1 });
    await second.init?.(ctx());
    await second.onPartitionsAssigned?.([{ topic: TOPIC, partition: 0 }], ctx());
    expect(second.state.lastBuild).toMatchObject({ partitions: 1 });
    const after = await scoreAll(second, records.slice(cut));
    expect(after).toEqual(reference.slice(cut));
    expect(after[0]?.cold_start).toBe(false);
    expect(after[0]?.confidence).toBe(1);
    await write(after);
    await second.close?.();

    // Without the rebuild the same readings would have been cold (the test would prove nothing otherwise).
    const cold = await scoreAll(createScoreAnomalyStage({ sources: await sources(), model }), records.slice(cut));
    expect(cold[0]?.cold_start).toBe(true);
    expect(cold.map((s) => s.anomaly_score)).not.toEqual(after.map((s) => s.anomaly_score));
  });

  it('stores the scores in meter_readings and each flagged reading once in anomalies, replays and corrections included', async () => {
    const flagged = await db.sql<{ n: number; zeros: number }[]>`
      SELECT count(*)::int AS n, count(*) FILTER (WHERE value = 0)::int AS zeros FROM anomalies`;
    const [rows] = await db.sql<{ scored: number; anomalous: number; total: number }[]>`
      SELECT count(anomaly_score)::int AS scored, count(*) FILTER (WHERE is_anomaly)::int AS anomalous,
             count(*)::int AS total FROM meter_readings`;
    expect(rows).toEqual({ scored: records.length, anomalous: flagged[0]?.n, total: records.length });
    expect(flagged[0]?.n).toBeGreaterThan(0);
    expect(flagged[0]?.zeros).toBe(flagged[0]?.n);
    const [one] = await db.sql<{ features: Record<string, number>; model_version: string }[]>`
      SELECT features, model_version FROM anomalies LIMIT 1`;
    expect(one?.model_version).toBe(model.version);
    expect(one?.features.is_zero).toBe(1);

    // A replay of the same scored readings changes nothing.
    const again = await scoreAll(createScoreAnomalyStage({ sources: new MemorySources(), model }), records);
    await write(again);
    const [replayed] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM anomalies`;
    expect(replayed?.n).toBe(flagged[0]?.n);

    // A correction that is no longer flagged loses its anomalies row.
    const [first] = await db.sql<{ time: Date }[]>`SELECT time FROM anomalies ORDER BY time LIMIT 1`;
    const corrected = again.find((s) => Date.parse(s.time) === first?.time.getTime()) as ScoredReading;
    const { anomaly_features: _, ...rest } = corrected;
    await write([{ ...rest, value: 55, anomaly_score: 0.01, is_anomaly: false }]);
    const [left] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM anomalies`;
    expect(left?.n).toBe((flagged[0]?.n ?? 0) - 1);
  });
});
