/**
 * A rebuild after an assignment waits (bounded) for write_hypertable, which runs in another
 * consumer group, to store what score_anomaly scored before: else the rebuilt history lacks it.
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../../config/load.js';
import type { EnrichedReading, ScoredReading } from '../../../domain/messages.js';
import {
  type Envelope,
  MemoryBroker,
  type StageContext,
  type StageResult,
  StageRunner,
} from '../../../pipeline/index.js';
import { defaultClients } from '../../../stages/descriptor.js';
import type { HistoryRow } from '../../../stages/score_anomaly/history.js';
import { scoreAnomalyStage } from '../../../stages/score_anomaly/index.js';
import { type AnomalyModel, loadAnomalyModel } from '../../../stages/score_anomaly/model.js';
import { createScoreAnomalyStage, type ScoreAnomalyStage } from '../../../stages/score_anomaly/stage.js';
import { WriterCatchUp, type WriterProgress, writerToWaitFor } from '../../../stages/score_anomaly/writer-lag.js';
import { eventually, metricValue } from '../../pipeline/helpers.js';
import { enriched, envelope, METER, MemorySources } from './stage-fixtures.js';

let model: AnomalyModel;
beforeAll(async () => {
  model = await loadAnomalyModel(fileURLToPath(new URL('../../../models/anomaly/anomaly.onnx', import.meta.url)));
});
afterAll(async () => {
  await model?.release();
});

const TOPIC = 'test.readings.enriched.v1';
const TP = { topic: TOPIC, partition: 0 };

/** A logger whose lines the test reads. */
function capturing() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const ctx = (): StageContext => ({ stage: 'score_anomaly', log, signal: new AbortController().signal });
  return { lines, ctx, warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg) };
}

/** The writer's progress as the test sets it: the scored topic's end and what the writer stored. */
class FakeWriter implements WriterProgress {
  stored_ = new Map<number, bigint>();
  failing = false;
  constructor(readonly end: ReadonlyMap<number, bigint>) {}
  async ends() {
    if (this.failing) throw new Error('KafkaJSConnectionError: Connection error: connect ECONNREFUSED');
    return this.end;
  }
  async stored() {
    if (this.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:55432');
    return this.stored_;
  }
  async close() {}
}

const DAYS = 12;
const records = Array.from({ length: 24 * DAYS }, (_, h) => envelope(enriched(h, 50 + 20 * Math.sin(h / 4))));
const rowsOf = (es: readonly Envelope<EnrichedReading>[]): HistoryRow[] =>
  es.map((e) => ({ timeMs: Date.parse(e.value.time), value: e.value.value }));
const scoredOf = (results: readonly StageResult<ScoredReading>[]) =>
  results.flatMap((r) => (r.kind === 'ok' ? [r.outputs[0]?.value as ScoredReading] : []));

/**
 * Day 12 after a restart. The stage before it scored days 1–11, but the writer had stored only
 * days 1–10 when the new owner was assigned the partition.
 */
async function restarted(writer: FakeWriter, now: () => number, log: ReturnType<typeof capturing>) {
  const stored = new Map([[METER, rowsOf(records.slice(0, 24 * 10))]]);
  const sources = new MemorySources(stored);
  const stage = createScoreAnomalyStage({
    sources,
    model,
    partitionCount: 1,
    writerProgress: writer,
    now,
    config: { rebuildWaitMs: 5_000 },
  });
  await stage.init?.(log.ctx());
  await stage.onPartitionsAssigned?.([TP], log.ctx());
  /** The writer stores day 11. */
  const catchUp = () => {
    stored.set(METER, rowsOf(records.slice(0, 24 * 11)));
    writer.stored_.set(0, 24n * 11n);
  };
  return { stage, sources, catchUp };
}

/** Day 12 scored by a stage that never stopped (day 12 in one batch, as after the restart). */
async function uninterrupted() {
  const stage = createScoreAnomalyStage({ sources: new MemorySources(), model });
  await stage.process(records.slice(0, 24 * 11), capturing().ctx());
  return scoredOf(await stage.process(records.slice(24 * 11), capturing().ctx()));
}

describe('score_anomaly waits for write_hypertable before a rebuild', () => {
  it('defers the first batch while the writer lags, then rebuilds with what it stored: scores as if never stopped', async () => {
    const writer = new FakeWriter(new Map([[0, 24n * 11n]]));
    writer.stored_.set(0, 24n * 10n);
    let clock = 0;
    const log = capturing();
    const { stage, sources, catchUp } = await restarted(writer, () => clock, log);
    expect(stage.waitingForWriter()).toEqual([0]);
    expect(sources.asked).toEqual([]); // not built yet
    const day12 = records.slice(24 * 11);

    const held = await stage.process(day12, log.ctx());
    expect(held).toHaveLength(day12.length);
    expect(new Set(held.map((r) => JSON.stringify(r)))).toEqual(
      new Set([JSON.stringify({ kind: 'defer', reason: 'history_not_stored', delayMs: 500 })]),
    );
    clock = 1_000;
    catchUp();
    const after = scoredOf(await stage.process(day12, log.ctx()));
    expect(stage.waitingForWriter()).toEqual([]);
    expect(after).toEqual(await uninterrupted());
    expect(log.warnings()).toEqual([]);
  });

  it('through the runner: the partition pauses (a deferral, no retry), then is built and scored once the writer caught up', async () => {
    const writer = new FakeWriter(new Map([[0, 24n * 11n]]));
    writer.stored_.set(0, 24n * 10n);
    const stored = new Map([[METER, rowsOf(records.slice(0, 24 * 10))]]);
    let looks = 0;
    writer.stored = async () => {
      // Looked at on assignment and before the first batch: the writer stores day 11 after that.
      if (++looks === 3) {
        stored.set(METER, rowsOf(records.slice(0, 24 * 11)));
        writer.stored_.set(0, 24n * 11n);
      }
      return writer.stored_;
    };
    const broker = new MemoryBroker();
    const input = 't.readings.enriched.v1';
    broker.createTopic(input, 1);
    for (const e of records.slice(24 * 11)) broker.append({ topic: input, key: METER, value: JSON.stringify(e.value) });
    const registry = new Registry();
    const stage = createScoreAnomalyStage({
      sources: new MemorySources(stored),
      model,
      partitionCount: 1,
      writerProgress: writer,
    });
    const runner = new StageRunner(
      stage,
      { broker, log: pino({ level: 'silent' }), registry },
      { naming: { prefix: 't' }, topicPartitions: 1, commitIntervalMs: 0 },
    );
    await runner.start();
    await eventually(async () => (await broker.readTopic('t.readings.scored.v1')).length === 24, 'day 12 scored');
    await runner.stop();
    const scored = (await broker.readTopic('t.readings.scored.v1')).map((r) => JSON.parse(String(r.value)));
    expect(scored).toEqual(await uninterrupted());
    expect(await metricValue(registry, 'pipeline_deferrals_total', { reason: 'history_not_stored' })).toBe(1);
    expect(await metricValue(registry, 'pipeline_retries_total')).toBe(0);
  });

  it('waits at most EAIO_SCORE_ANOMALY_REBUILD_WAIT_MS, then scores with what is stored and warns once', async () => {
    const writer = new FakeWriter(new Map([[0, 24n * 11n]]));
    let clock = 0;
    const log = capturing();
    const { stage } = await restarted(writer, () => clock, log);
    const day12 = records.slice(24 * 11);
    clock = 4_800;
    const held = await stage.process(day12, log.ctx());
    expect(held[0]).toEqual({ kind: 'defer', reason: 'history_not_stored', delayMs: 200 });
    clock = 5_000;
    const after = scoredOf(await stage.process(day12, log.ctx()));
    expect(after).toHaveLength(day12.length);
    // Built from days 1–10 only: the day the writer had not stored is missing from the history.
    expect(after).not.toEqual(await uninterrupted());
    await stage.process(day12, log.ctx());
    expect(log.warnings()).toHaveLength(1);
    expect(log.warnings()[0]).toMatch(
      /264 scored readings to store after 5000 ms \(EAIO_SCORE_ANOMALY_REBUILD_WAIT_MS\)/,
    );
  });

  it('does not wait when the writer has stored everything, nor when its progress cannot be read', async () => {
    const caughtUp = new FakeWriter(new Map([[0, 24n * 10n]]));
    caughtUp.stored_.set(0, 24n * 10n);
    const log = capturing();
    const { stage, sources } = await restarted(caughtUp, () => 0, log);
    expect(sources.asked).toEqual([[METER]]); // built at the assignment
    expect((await stage.process(records.slice(24 * 11), log.ctx())).every((r) => r.kind === 'ok')).toBe(true);

    const away = new FakeWriter(new Map([[0, 24n * 11n]]));
    away.failing = true;
    const second = capturing();
    const other = await restarted(away, () => 0, second);
    expect(other.sources.asked).toEqual([[METER]]);
    expect(second.warnings()).toEqual([
      'cannot tell whether write_hypertable has stored the readings scored before this assignment; rebuilding from what is stored',
    ]);
  });

  it('takes a lookup that does not answer during the assignment as nothing to wait for (kafkajs sends no heartbeat meanwhile)', async () => {
    const silent: WriterProgress = {
      ends: () => new Promise(() => undefined),
      stored: async () => new Map(),
      close: async () => undefined,
    };
    const log = capturing();
    const catchUp = new WriterCatchUp(silent, 5_000, (p) => [p], Date.now, 50);
    const started = Date.now();
    expect(await catchUp.hold([TP], log.ctx().log)).toEqual([TP]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(catchUp.waiting).toEqual([]);
    expect(log.warnings()).toHaveLength(1);
  });

  it('waits only for a writer in another group: chained with it, there is none', () => {
    const naming = { prefix: 'p' };
    const env = { KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_CLIENT_ID: 'eaio' };
    for (const group of ['p.stage.score_anomaly', 'p.stage.validate+enrich_weather+score_anomaly'])
      expect(writerToWaitFor(naming, group, env)).toMatchObject({
        group: 'p.stage.write_hypertable',
        topic: 'p.readings.scored.v1',
      });
    expect(writerToWaitFor(naming, 'p.stage.validate+enrich_weather+score_anomaly+write_hypertable', env)).toBe(
      undefined,
    );
    expect(writerToWaitFor(naming, 'p.stage.score_anomaly+write_hypertable', env)).toBe(undefined);
  });

  it('is wired by the descriptor: `eaio run` alone or in the production chain waits, chained with the writer not', async () => {
    const core = loadEnv({});
    const build = async (offsetsGroup: string) =>
      (await scoreAnomalyStage.create({
        config: scoreAnomalyStage.settings.toConfig(scoreAnomalyStage.settings.schema.parse({})),
        env: core,
        naming: { prefix: 'p' },
        offsetsGroup,
        clients: defaultClients(core),
      })) as ScoreAnomalyStage;
    expect((await build('p.stage.validate+enrich_weather+score_anomaly')).writer?.group).toBe(
      'p.stage.write_hypertable',
    );
    expect((await build('p.stage.score_anomaly')).writer?.topic).toBe('p.readings.scored.v1');
    expect((await build('p.stage.validate+enrich_weather+score_anomaly+write_hypertable')).writer).toBeUndefined();
  });
});
