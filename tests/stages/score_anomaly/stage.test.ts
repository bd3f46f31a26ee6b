import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnomalyAlert, EnrichedReading, ScoredReading } from '../../../domain/messages.js';
import { ScoredReadingSchema } from '../../../domain/messages.js';
import { type Envelope, PipelineMetrics, type StageContext, type StageResult } from '../../../pipeline/index.js';
import { FEATURE_NAMES } from '../../../stages/score_anomaly/features.js';
import { type AnomalyModel, loadAnomalyModel, ModelContractError } from '../../../stages/score_anomaly/model.js';
import { createScoreAnomalyStage, type ScoreAnomalyDeps } from '../../../stages/score_anomaly/stage.js';
import { enriched, envelope, HOUR, METER, MemorySources, normal, START } from './stage-fixtures.js';

const file = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
let model: AnomalyModel;
beforeAll(async () => {
  model = await loadAnomalyModel(file('models/anomaly/anomaly.onnx'));
});
afterAll(async () => {
  await model?.release();
});

const registry = new Registry();
const ctx = (): StageContext => ({
  stage: 'score_anomaly',
  log: pino({ level: 'silent' }),
  signal: new AbortController().signal,
  metrics: PipelineMetrics.forRegistry(registry).stageMetrics('score_anomaly'),
});

async function started(deps: Partial<ScoreAnomalyDeps> = {}) {
  const stage = createScoreAnomalyStage({ sources: new MemorySources(), model, ...deps });
  await stage.init?.(ctx());
  return stage;
}

/** Process in batches of `size`, as a partition's records arrive; the outputs of each record. */
async function run(
  stage: Awaited<ReturnType<typeof started>>,
  records: readonly Envelope<EnrichedReading>[],
  size = 50,
): Promise<{ scored: ScoredReading[]; alerts: AnomalyAlert[]; results: StageResult<ScoredReading>[] }> {
  const results: StageResult<ScoredReading>[] = [];
  for (let i = 0; i < records.length; i += size)
    results.push(...(await stage.process(records.slice(i, i + size), ctx())));
  const scored: ScoredReading[] = [];
  const alerts: AnomalyAlert[] = [];
  for (const r of results) {
    if (r.kind !== 'ok') throw new Error(`not ok: ${JSON.stringify(r)}`);
    for (const out of r.outputs) {
      if (out.output === 'anomalies') alerts.push(out.value as unknown as AnomalyAlert);
      else scored.push(out.value);
    }
  }
  return { scored, alerts, results };
}

const series = (hours: number, value: (h: number) => number = normal) =>
  Array.from({ length: hours }, (_, h) => envelope(enriched(h, value(h))));

describe('score_anomaly stage', () => {
  it('scores every reading: a ScoredReading with a score in [0, 1], its flag, expected value and model version', async () => {
    const stage = await started();
    const { scored, results } = await run(stage, series(24 * 10));
    expect(results).toHaveLength(240);
    for (const s of scored) {
      expect(ScoredReadingSchema.safeParse(s).success).toBe(true);
      expect(s.anomaly_score).toBeGreaterThanOrEqual(0);
      expect(s.anomaly_score).toBeLessThanOrEqual(1);
      expect(s.is_anomaly).toBe(s.anomaly_score >= 0.5);
      expect(s.model_version).toBe(model.version);
    }
    // A week in, the meter's past says what to expect, close to the profile.
    const late = scored[24 * 9 + 12] as ScoredReading;
    expect(late.expected_value).not.toBeNull();
    expect(Math.abs((late.expected_value as number) - normal(24 * 9 + 12))).toBeLessThan(5);
    expect(late.confidence).toBe(1);
    // Readings without weather are scored like the others.
    expect(scored.filter((s) => s.weather_missing).length).toBeGreaterThan(40);
    await stage.close?.();
  });

  it('scores a cold meter with low confidence and cold_start, never a missing or silent score', async () => {
    const stage = await started();
    const { scored } = await run(stage, series(30));
    const [first] = scored;
    expect(first?.confidence).toBe(0);
    expect(first?.cold_start).toBe(true);
    expect(first?.expected_value).toBeNull();
    expect(Number.isFinite(first?.anomaly_score)).toBe(true);
    // 2 of 7 days seen: no longer cold at the default 0.25.
    const { scored: later } = await run(stage, series(24 * 3).slice(30));
    expect(later.at(-1)?.cold_start).toBe(false);
    await stage.close?.();
  });

  it('flags a reading at or above the threshold and sends it to the anomalies output with its features', async () => {
    const stage = await started();
    // A week of normal, then the meter stuck at zero for a day.
    const records = series(24 * 9, (h) => (h >= 24 * 8 ? 0 : normal(h)));
    const { scored, alerts } = await run(stage, records);
    const flagged = scored.filter((s) => s.is_anomaly);
    expect(flagged.length).toBeGreaterThan(0);
    expect(flagged.every((s) => s.value === 0)).toBe(true);
    expect(alerts.map((a) => a.time)).toEqual(flagged.map((s) => s.time));
    const [alert] = alerts;
    expect(alert).toMatchObject({ meter_id: METER, value: 0, threshold: 0.5, model_version: model.version });
    expect(Object.keys(alert?.features ?? {})).toEqual([...FEATURE_NAMES]);
    expect(alert?.features.is_zero).toBe(1);
    expect(flagged[0]?.anomaly_features).toEqual(alert?.features);
    // Unflagged readings carry no features: the scored topic stays lean.
    expect(scored.filter((s) => !s.is_anomaly).every((s) => s.anomaly_features === undefined)).toBe(true);
    await stage.close?.();
  });

  it('takes the threshold from its config', async () => {
    const stage = await started({ config: { threshold: 0 } });
    const { scored, alerts } = await run(stage, series(48));
    expect(scored.every((s) => s.is_anomaly)).toBe(true);
    expect(alerts).toHaveLength(48);
    await stage.close?.();
  });

  it('is causal: changing future readings changes no earlier score, whatever the batching', async () => {
    const cut = 24 * 8 + 5;
    const base = series(24 * 10);
    const changed = base.map((e, i) => (i <= cut ? e : envelope(enriched(i, i % 3 === 0 ? 0 : normal(i) * 4))));
    const a = await run(await started(), base, 37);
    const b = await run(await started(), changed, 11);
    const history = (r: typeof a) => r.scored.map((s) => [s.expected_value, s.confidence, s.cold_start]);
    expect(history(b).slice(0, cut + 1)).toEqual(history(a).slice(0, cut + 1));
    // Scores equal up to float32 rounding: onnxruntime sums a row's trees in an order that depends
    // on the batch's size (measured: differences of ~1e-7), not on other rows' values.
    for (let i = 0; i <= cut; i++)
      expect(
        Math.abs((b.scored[i]?.anomaly_score ?? -1) - (a.scored[i]?.anomaly_score ?? 1)),
        `reading ${i}`,
      ).toBeLessThan(1e-5);
    // …and the change is seen afterwards (otherwise this test would prove nothing).
    const moved = b.scored
      .slice(cut + 1)
      .filter((s, i) => Math.abs(s.anomaly_score - (a.scored[cut + 1 + i]?.anomaly_score ?? 0)) > 0.1);
    expect(moved.length).toBeGreaterThan(10);
  });

  it('rebuilds a meter’s history on assignment: a restarted stage scores as the one that never stopped', async () => {
    const records = series(24 * 12);
    const uninterrupted = await run(await started(), records);
    // The first 11 days are "stored"; a new stage is assigned the partition and scores day 12.
    const stored = new Map([
      [METER, records.slice(0, 24 * 11).map((e) => ({ timeMs: Date.parse(e.value.time), value: e.value.value }))],
    ]);
    const sources = new MemorySources(stored);
    const restarted = await started({ sources, partitionCount: 1 });
    await restarted.onPartitionsAssigned?.([{ topic: 'test.readings.enriched.v1', partition: 0 }], ctx());
    expect(sources.asked).toEqual([[METER]]);
    const after = await run(restarted, records.slice(24 * 11));
    expect(after.scored).toEqual(uninterrupted.scored.slice(24 * 11));
    expect(after.scored[0]?.cold_start).toBe(false);
    expect(sources.asked).toHaveLength(1); // nothing loaded again at the first record
  });

  it('loads a meter the rebuild did not know at its first record, once', async () => {
    const stored = new Map([
      [METER, Array.from({ length: 24 * 7 }, (_, h) => ({ timeMs: START + h * HOUR, value: normal(h) }))],
    ]);
    const sources = new MemorySources(stored, []); // not in the catalog when the partition was assigned
    const stage = await started({ sources, partitionCount: 1 });
    await stage.onPartitionsAssigned?.([{ topic: 'test.readings.enriched.v1', partition: 0 }], ctx());
    const { scored } = await run(stage, series(24 * 8).slice(24 * 7));
    expect(scored[0]?.confidence).toBe(1);
    expect(sources.asked).toEqual([[], [METER]]);
  });

  it('restores each partition’s event time from its own meters’ newest stored reading, none without history', async () => {
    // With 3 partitions: electricity is on 0, chilledwater on 1, hotwater on 2.
    const meter = (type: string) => `Panther_office_Karla:${type}`;
    const rows = (hours: number) =>
      Array.from({ length: hours }, (_, h) => ({ timeMs: START + h * HOUR, value: normal(h) }));
    const sources = new MemorySources(
      new Map([
        [meter('electricity'), rows(24 * 3)],
        [meter('hotwater'), rows(24 * 5)],
      ]),
      [meter('electricity'), meter('chilledwater'), meter('hotwater')],
    );
    const stage = await started({ sources, partitionCount: 3 });
    const restored: [number, number][] = [];
    const topic = 'test.readings.enriched.v1';
    await stage.onPartitionsAssigned?.(
      [0, 1, 2].map((partition) => ({ topic, partition })),
      {
        ...ctx(),
        eventTime: { maxEventTime: () => undefined, restore: (tp, t) => restored.push([tp.partition, t]) },
      },
    );
    expect(restored.sort((a, b) => a[0] - b[0])).toEqual([
      [0, START + (24 * 3 - 1) * HOUR],
      [2, START + (24 * 5 - 1) * HOUR],
    ]);
  });

  it('observes the inference time of every batch in a histogram', async () => {
    const stage = await started();
    const before = await registry.getSingleMetricAsString('eaio_score_anomaly_inference_seconds');
    const count = (text: string) => Number(/_count\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    await run(stage, series(100), 25);
    const after = await registry.getSingleMetricAsString('eaio_score_anomaly_inference_seconds');
    expect(count(after) - count(before)).toBe(4);
  });

  it('refuses to start without a readable model, naming the file and the setting', async () => {
    const stage = createScoreAnomalyStage({
      sources: new MemorySources(),
      config: { modelPath: '/nonexistent/model.onnx' },
    });
    const failure = stage.init?.(ctx());
    await expect(failure).rejects.toBeInstanceOf(ModelContractError);
    await expect(failure).rejects.toThrow(/\/nonexistent\/model\.onnx cannot be read.*EAIO_SCORE_ANOMALY_MODEL/);
    expect(stage.classifyError?.(new ModelContractError('x'))).toBe('fatal');
  });

  it('refuses a model whose inputs break the contract, naming the mismatch', async () => {
    // A leave-one-building-out model is a valid model; a file that is not ONNX at all is not.
    const stage = createScoreAnomalyStage({
      sources: new MemorySources(),
      config: { modelPath: file('models/anomaly/MODEL_CARD.md') },
    });
    await expect(stage.init?.(ctx())).rejects.toThrow(/MODEL_CARD\.md is not a loadable ONNX model/);
  });
});
