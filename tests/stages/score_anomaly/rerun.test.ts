/**
 * A batch handed in again (a failed produce, a transient error, an ONNX failure, records re-run
 * one by one) must be scored exactly as the first attempt would have been: the history it sees is
 * the one before its records, not one that already holds them (or lost lookback to them).
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedReading, ScoredReading } from '../../../domain/messages.js';
import { MemoryBroker } from '../../../pipeline/broker-memory.js';
import { TransientError } from '../../../pipeline/errors.js';
import { type Envelope, type StageContext, type StageResult, StageRunner } from '../../../pipeline/index.js';
import { type AnomalyModel, loadAnomalyModel } from '../../../stages/score_anomaly/model.js';
import { createScoreAnomalyStage } from '../../../stages/score_anomaly/stage.js';
import { eventually } from '../../pipeline/helpers.js';
import { enriched, envelope, HOUR, METER, MemorySources, normal, START } from './stage-fixtures.js';

let model: AnomalyModel;
beforeAll(async () => {
  model = await loadAnomalyModel(fileURLToPath(new URL('../../../models/anomaly/anomaly.onnx', import.meta.url)));
});
afterAll(async () => {
  await model?.release();
});

const log = pino({ level: 'silent' });
const ctx = (): StageContext => ({ stage: 'score_anomaly', log, signal: new AbortController().signal });

const OTHER = 'Panther_office_Karla:chilledwater';
const STORED_DAYS = 30;
/** 30 days of each meter "in meter_readings", so the 4-week lookback is in use. */
const stored = () =>
  new Map(
    [METER, OTHER].map((m) => [
      m,
      Array.from({ length: 24 * STORED_DAYS }, (_, h) => ({ timeMs: START + h * HOUR, value: normal(h) })),
    ]),
  );

/**
 * Three more days of both meters, hour by hour, with two corrections: hour 10 of METER sent again
 * ten times higher after hour 40, and hour 50 after hour 60. A later reading of the same batch sees
 * the original value the first time, so must see it again.
 */
function stream(): EnrichedReading[] {
  const out: EnrichedReading[] = [];
  const first = 24 * STORED_DAYS;
  for (let h = first; h < first + 72; h++) {
    out.push(enriched(h, normal(h)), enriched(h, normal(h) * 2, OTHER));
    if (h === first + 40) out.push(enriched(first + 10, normal(first + 10) * 10));
    if (h === first + 60) out.push(enriched(first + 50, normal(first + 50) * 10));
  }
  return out;
}

/** What a restarted stage needs: the stored history, rebuilt on assignment of the one partition. */
const scorer = (scoring: AnomalyModel = model, maxRecords = 24) =>
  createScoreAnomalyStage({
    sources: new MemorySources(stored()),
    model: scoring,
    partitionCount: 1,
    config: { maxRecords },
  });

/** The model, failing its first `failures` inferences. */
function failing(failures: number): AnomalyModel {
  let left = failures;
  return {
    path: model.path,
    version: model.version,
    score: async (features, rows) => {
      if (left-- > 0) throw new Error('onnxruntime: out of memory');
      return model.score(features, rows);
    },
    release: async () => undefined,
  } as AnomalyModel;
}

const scoredOf = (results: readonly StageResult<ScoredReading>[]) =>
  results.map((r) => {
    if (r.kind !== 'ok') throw new Error(`not ok: ${JSON.stringify(r)}`);
    return r.outputs[0]?.value as ScoredReading;
  });

/** Runs the stage on an in-memory broker over the stream; the scored topic's values in order. */
async function throughRunner(prepare: (broker: MemoryBroker) => void, scoring: AnomalyModel = model) {
  const broker = new MemoryBroker({ maxBatchRecords: 500 });
  const input = 't.readings.enriched.v1';
  broker.createTopic(input, 1);
  prepare(broker);
  for (const r of stream()) broker.append({ topic: input, key: r.meter_id, value: JSON.stringify(r) });
  const runner = new StageRunner(
    scorer(scoring),
    { broker, log, registry: new Registry() },
    {
      naming: { prefix: 't' },
      topicPartitions: 1,
      commitIntervalMs: 0,
      random: () => 0,
      retry: { baseMs: 1, capMs: 1, maxAttempts: 5, maxElapsedMs: 60_000 },
    },
  );
  await runner.start();
  const total = stream().length;
  await eventually(
    () => Number(broker.committed(runner.groupId, { topic: input, partition: 0 }) ?? 0n) === total,
    'every reading committed',
  );
  await runner.stop();
  return (await broker.readTopic('t.readings.scored.v1')).map((r) => JSON.parse(String(r.value)) as ScoredReading);
}

describe('score_anomaly: a re-run sees the history of the first attempt', () => {
  it('a produce that fails re-runs the fetched batch (6 chunks): the scores are those of a run without the failure', async () => {
    const reference = await throughRunner(() => undefined);
    expect(reference).toHaveLength(stream().length);
    const rerun = await throughRunner((broker) => broker.failNextSends(1, () => new TransientError('broker busy')));
    expect(rerun).toEqual(reference);
  });

  it('the same batch processed twice (a retried chain step) gives the same results twice', async () => {
    const stage = scorer(model, 1000);
    await stage.init?.(ctx());
    await stage.onPartitionsAssigned?.([{ topic: 'test.readings.enriched.v1', partition: 0 }], ctx());
    const batch = stream().map((r) => envelope(r));
    const first = scoredOf(await stage.process(batch, ctx()));
    const again = scoredOf(await stage.process(batch, ctx()));
    expect(again).toEqual(first);
  });

  it('an ONNX failure, then the records one by one: each sees what it saw in the batch', async () => {
    const batch = stream().map((r) => envelope(r));
    const uninterrupted = scorer(model, 1000);
    await uninterrupted.init?.(ctx());
    await uninterrupted.onPartitionsAssigned?.([{ topic: 'test.readings.enriched.v1', partition: 0 }], ctx());
    const reference = scoredOf(await uninterrupted.process(batch, ctx()));

    const stage = scorer(failing(1), 1000);
    await stage.init?.(ctx());
    await stage.onPartitionsAssigned?.([{ topic: 'test.readings.enriched.v1', partition: 0 }], ctx());
    await expect(stage.process(batch, ctx())).rejects.toThrow(/out of memory/);
    const alone: ScoredReading[] = [];
    for (const e of batch) alone.push(...scoredOf(await stage.process([e as Envelope<EnrichedReading>], ctx())));
    const summary = (s: ScoredReading[]) => s.map((r) => [r.time, r.meter_id, r.expected_value, r.confidence]);
    expect(summary(alone)).toEqual(summary(reference));
    // Scores equal up to float32 rounding: onnxruntime sums a row's trees in an order that depends
    // on the batch's size (1 here, the whole stream there).
    alone.forEach((s, i) => {
      expect(Math.abs(s.anomaly_score - (reference[i]?.anomaly_score ?? -1)), `reading ${i}`).toBeLessThan(1e-5);
    });
  });
});
