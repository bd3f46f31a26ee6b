/**
 * score_anomaly: gives every enriched reading an anomaly score from an ONNX model, flags those at
 * or above the threshold, and sends each flagged one to the `anomalies` side output as an alert.
 * Reads `readings.enriched.v1`, writes `readings.scored.v1` (every reading, never dropped) and
 * `anomalies.v1`.
 *
 * Causal: a reading's features come from itself, its weather, its building's static attributes and
 * its meter's history strictly before its hour (features.ts). The history is partition-owned
 * state: rebuilt from `meter_readings` for the meters of the assigned partitions before any of
 * their records is processed, and for a meter the rebuild did not know (new to the catalog, or a
 * topic with another partition count than EAIO_TOPIC_PARTITIONS) at its first record. A meter
 * with little history is scored all the same, with its confidence and `cold_start` saying so.
 *
 * Run in another consumer group than write_hypertable (production), a partition's rebuild first
 * waits, bounded, for the writer to store what was scored before the assignment (writer-lag.ts).
 *
 * Records handed in again (a retried batch, outputs not acknowledged, a later chain step failed,
 * records re-run one by one) first undo what they recorded the first time (history-journal.ts), so
 * they are scored exactly as then.
 */
import type { Sql } from 'postgres';
import type { AnomalyAlert, EnrichedReading, ScoredReading } from '../../domain/messages.js';
import { parseTime } from '../../domain/time-memo.js';
import { TOPICS } from '../../domain/topics.js';
import {
  keysOnPartitions,
  type OutputRecord,
  type OutputSpec,
  ok,
  PartitionStateStore,
  type Stage,
  type StageContext,
  type StageHistogram,
  type StageResult,
  stageResults,
  type TopicPartition,
  toOutput,
} from '../../pipeline/index.js';
import type { StageClients } from '../descriptor.js';
import { anomalyAlertCodec, enrichedReadingCodec, scoredReadingCodec } from '../shared/message-codecs.js';
import { pgRunnerDisposition } from '../shared/pg-disposition.js';
import { classifyPgError } from '../shared/pg-errors.js';
import { waitForPostgres } from '../shared/pg-wait.js';
import { type AttributesByBuilding, AttributesCache, loadAttributes } from './attributes.js';
import { HISTORY_NOT_STORED, scoreAnomalyCodes } from './codes.js';
import { type ScoreAnomalyConfig, scoreAnomalyDefaults } from './config.js';
import { computeFeatures, FEATURE_COUNT, FEATURE_NAMES, type StaticAttributes } from './features.js';
import { MeterHistory } from './history.js';
import { HistoryJournal, JOURNAL_CAPACITY } from './history-journal.js';
import { catalogMeters, type LoadedHistories, loadHistories } from './history-store.js';
import { type AnomalyModel, loadAnomalyModel, ModelContractError } from './model.js';
import { WriterCatchUp, type WriterLocation, type WriterProgress, writerProgress } from './writer-lag.js';

export const SCORE_ANOMALY = 'score_anomaly';
const { defer } = stageResults(scoreAnomalyCodes);

/** Where history and attributes come from: PostgreSQL, or fakes in unit tests. */
export interface ScoreSources {
  /** Every known meter id (a rebuild keeps those on its partitions). */
  meters(): Promise<readonly string[]>;
  histories(meters: readonly string[]): Promise<LoadedHistories>;
  attributes(): Promise<AttributesByBuilding>;
}

export interface ScoreAnomalyDeps {
  readonly config?: Partial<ScoreAnomalyConfig>;
  /** Where the stage opens its pool in `init` (the descriptor passes them)… */
  readonly clients?: StageClients;
  /** …or a pool owned by the caller. */
  readonly sql?: Sql;
  /** …or no database at all (unit tests). */
  readonly sources?: ScoreSources;
  /** Partitions of the input topic (EAIO_TOPIC_PARTITIONS): which meters an assignment rebuilds. */
  readonly partitionCount?: number;
  /** A model opened by the caller (tests); by default `init` opens `config.modelPath`. */
  readonly model?: AnomalyModel;
  /**
   * write_hypertable, when it runs in another consumer group: a rebuild waits for it to store what
   * was scored before the assignment (writer-lag.ts). Absent: no wait (chained with the writer, tests).
   */
  readonly writer?: WriterLocation;
  /** …or its progress from elsewhere (tests). */
  readonly writerProgress?: WriterProgress;
  /** Clock of the wait for the writer (tests). */
  readonly now?: () => number;
}

export const anomaliesOutput: OutputSpec<AnomalyAlert> & { readonly name: string } = {
  name: 'anomalies',
  topic: TOPICS.anomalies,
  codec: anomalyAlertCodec,
  key: (a) => a.meter_id,
};

/** Per partition: each meter's history, and the undo log of what this assignment recorded in them. */
interface PartitionHistories {
  readonly meters: Map<string, MeterHistory>;
  readonly journal: HistoryJournal;
}
const emptyPartition = (): PartitionHistories => ({ meters: new Map(), journal: new HistoryJournal() });

/** Time of the newest reading any of these histories holds; undefined when none holds one. */
function newestTimeOf(histories: PartitionHistories): number | undefined {
  let newest: number | undefined;
  for (const history of histories.meters.values()) {
    const t = history.newestTime;
    if (t !== undefined && (newest === undefined || t > newest)) newest = t;
  }
  return newest;
}

const INFERENCE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const round = (x: number): number => Math.round(x * 1e4) / 1e4;

/** A building the catalog does not describe: every field present, as a catalog building's are (one object shape). */
const UNKNOWN_BUILDING: StaticAttributes = { timeZone: undefined, primaryUse: undefined, areaSqm: undefined };

function pgSources(sql: Sql): ScoreSources {
  return {
    meters: () => catalogMeters(sql),
    histories: (meters) => loadHistories(sql, meters),
    attributes: () => loadAttributes(sql),
  };
}

/** The enriched reading with its score, field by field (a spread re-shapes the object per field). */
function scoredReading(
  r: EnrichedReading,
  score: number,
  isAnomaly: boolean,
  expected: number | null,
  confidence: number,
  coldStart: boolean,
  modelVersion: string,
  features: Record<string, number> | undefined,
): ScoredReading {
  const scored: ScoredReading = {
    schema_version: r.schema_version,
    meter_id: r.meter_id,
    building_id: r.building_id,
    site_id: r.site_id,
    meter_type: r.meter_type,
    time: r.time,
    value: r.value,
    unit: r.unit,
    original_value: r.original_value,
    original_unit: r.original_unit,
    is_estimated: r.is_estimated,
    quality_code: r.quality_code,
    source: r.source,
    air_temperature: r.air_temperature,
    cloud_coverage: r.cloud_coverage,
    dew_temperature: r.dew_temperature,
    precip_depth_1h: r.precip_depth_1h,
    sea_level_pressure: r.sea_level_pressure,
    wind_direction: r.wind_direction,
    wind_speed: r.wind_speed,
    weather_time: r.weather_time,
    weather_missing: r.weather_missing,
    anomaly_score: score,
    is_anomaly: isAnomaly,
    expected_value: expected,
    confidence,
    cold_start: coldStart,
    model_version: modelVersion,
  };
  if (features) scored.anomaly_features = features;
  return scored;
}

export function toAlert(r: ScoredReading, threshold: number): AnomalyAlert {
  return {
    schema_version: r.schema_version,
    meter_id: r.meter_id,
    building_id: r.building_id,
    site_id: r.site_id,
    meter_type: r.meter_type,
    time: r.time,
    value: r.value,
    unit: r.unit,
    expected_value: r.expected_value,
    anomaly_score: r.anomaly_score,
    threshold,
    confidence: r.confidence,
    cold_start: r.cold_start,
    model_version: r.model_version,
    features: r.anomaly_features ?? {},
  };
}

export type ScoreAnomalyStage = Stage<EnrichedReading, ScoredReading> & {
  /** The partition-owned histories (tests look at them). */
  readonly state: PartitionStateStore<PartitionHistories>;
  /** The writer a rebuild waits for, if any (see `ScoreAnomalyDeps.writer`). */
  readonly writer: WriterLocation | undefined;
  /** Partition numbers whose rebuild waits for the writer (tests). */
  readonly waitingForWriter: () => readonly number[];
};

export function createScoreAnomalyStage(deps: ScoreAnomalyDeps = {}): ScoreAnomalyStage {
  const config: ScoreAnomalyConfig = { ...scoreAnomalyDefaults(), ...deps.config };
  const ownsSql = deps.sql === undefined && deps.sources === undefined;
  let sql = deps.sql;
  let sources = deps.sources ?? (deps.sql ? pgSources(deps.sql) : undefined);
  let model = deps.model;
  const ownsModel = deps.model === undefined;
  const opened = () => {
    if (!sources || !model) throw new Error('score_anomaly: init() opens its database and model before use');
    return { sources, model };
  };
  const attributes = new AttributesCache(() => opened().sources.attributes(), config.catalogRefreshMs);
  let inference: StageHistogram | undefined;
  /** Scored partitions holding partition p's meters: p itself when the topics have as many partitions. */
  const scoredPartitionsOf = (p: number, count: number): number[] =>
    deps.partitionCount === undefined || deps.partitionCount === count
      ? [p]
      : Array.from({ length: count }, (_, q) => q);
  const waitFor = (progress: WriterProgress) =>
    new WriterCatchUp(progress, config.rebuildWaitMs, scoredPartitionsOf, deps.now);
  let catchUp = deps.writerProgress && config.rebuildWaitMs > 0 ? waitFor(deps.writerProgress) : undefined;
  /** Grown as batches need: one features matrix per process call, never shared between calls in flight. */
  const matrices: Float32Array[] = [];

  const state = new PartitionStateStore<PartitionHistories>({
    async load(partitions: readonly TopicPartition[]) {
      const { sources: source } = opened();
      const all = await source.meters();
      const byPartition = new Map<number, PartitionHistories>();
      const partitionOf = new Map<string, PartitionHistories>();
      const count = deps.partitionCount;
      const wanted: string[] = [];
      // By partition number: a chain's inputs (readings and weather) share the numbers, and the
      // meters of number p are on p of whichever topic keyed by meter carries them.
      for (const tp of partitions) {
        if (byPartition.has(tp.partition)) continue;
        const histories = emptyPartition();
        byPartition.set(tp.partition, histories);
        if (count === undefined) continue;
        for (const meter of keysOnPartitions(all, [tp.partition], count)) {
          partitionOf.set(meter, histories);
          wanted.push(meter);
        }
      }
      const loaded = await source.histories(wanted);
      for (const [meter, history] of loaded.histories) partitionOf.get(meter)?.meters.set(meter, history);
      // Meters known but without stored readings are known to be new: no second look at their first record.
      for (const meter of wanted) {
        const histories = partitionOf.get(meter);
        if (histories && !histories.meters.has(meter)) histories.meters.set(meter, new MeterHistory());
      }
      // Each partition resumes from its own meters' newest stored reading: one far ahead on another
      // partition must not make this one's records look late.
      return partitions.map((tp) => {
        const histories = byPartition.get(tp.partition) as PartitionHistories;
        const newest = newestTimeOf(histories);
        return { ...tp, state: histories, ...(newest === undefined ? {} : { maxEventTime: newest }) };
      });
    },
    empty: emptyPartition,
    size: (histories) => histories.meters.size,
    isTransient: (error) => classifyPgError(error) === 'retry',
  });

  /**
   * Partitions are processed concurrently; their inferences run one at a time, so each has the
   * session to itself (the histogram then times inference, not a queue of them) and the event
   * loop is not competing with several inference threads at once.
   */
  let inferring: Promise<unknown> = Promise.resolve();
  const inferOneAtATime = <T>(run: () => Promise<T>): Promise<T> => {
    const next = inferring.then(run, run);
    inferring = next.catch(() => undefined);
    return next;
  };

  /**
   * The runner hands in no record of a partition before its state is built; a direct call (a test,
   * a tool) gets a state of its own for that partition, filled at first sight of each meter.
   */
  const unassigned = new Map<string, PartitionHistories>();
  const historiesOf = (tp: TopicPartition): PartitionHistories => {
    if (state.has(tp)) return state.get(tp);
    const key = `${tp.topic}\u0000${tp.partition}`;
    let histories = unassigned.get(key);
    if (!histories) {
      histories = emptyPartition();
      unassigned.set(key, histories);
    }
    return histories;
  };

  /**
   * `historiesOf` for the records of one call, remembering the last partition: a call's records
   * come in runs of one partition, and three passes look each one up.
   */
  const lookupFor = (): ((tp: TopicPartition) => PartitionHistories) => {
    let last: TopicPartition | undefined;
    let found: PartitionHistories | undefined;
    return (tp) => {
      if (!found || !last || last.partition !== tp.partition || last.topic !== tp.topic) {
        found = historiesOf(tp);
        last = tp;
      }
      return found;
    };
  };

  /** Histories of the batch's meters that this assignment has not loaded yet, in one query. */
  async function loadMissing(
    batch: readonly { value: EnrichedReading; raw: TopicPartition }[],
    lookup: (tp: TopicPartition) => PartitionHistories,
  ): Promise<void> {
    const missing = new Map<string, PartitionHistories>();
    for (const e of batch) {
      const histories = lookup(e.raw);
      if (!histories.meters.has(e.value.meter_id)) missing.set(e.value.meter_id, histories);
    }
    if (missing.size === 0) return;
    const loaded = await opened().sources.histories([...missing.keys()]);
    for (const [meter, histories] of missing)
      histories.meters.set(meter, loaded.histories.get(meter) ?? new MeterHistory());
  }

  /** Partitions whose re-run reached back further than their journal keeps (warned once). */
  const inexact = new WeakSet<PartitionHistories>();

  /**
   * Undoes what an earlier attempt at these records recorded (a re-run starts at an offset already
   * recorded), so they see the history the first attempt saw; returns each partition's first offset.
   */
  function rewind(
    batch: readonly { value: EnrichedReading; raw: TopicPartition & { offset: string } }[],
    ctx: StageContext,
    lookup: (tp: TopicPartition) => PartitionHistories,
  ): Map<PartitionHistories, number> {
    const first = new Map<PartitionHistories, number>();
    const where = new Map<PartitionHistories, TopicPartition>();
    for (const e of batch) {
      const histories = lookup(e.raw);
      const offset = Number(e.raw.offset);
      if (offset < (first.get(histories) ?? Number.POSITIVE_INFINITY)) first.set(histories, offset);
      where.set(histories, e.raw);
    }
    for (const [histories, offset] of first) {
      if (histories.journal.rewind(offset) || inexact.has(histories)) continue;
      inexact.add(histories);
      const tp = where.get(histories) as TopicPartition;
      ctx.log.warn(
        { partition: `${tp.topic}:${tp.partition}`, offset, kept: JOURNAL_CAPACITY },
        'records handed in again reach back further than score_anomaly keeps undo for; their scores may differ slightly from the first attempt',
      );
    }
    return first;
  }

  /**
   * A partition still waiting for the writer defers its batch; one whose wait is over (caught up, or
   * waited long enough) has its state built now. Returns the delay of a deferral, if any.
   */
  async function holdBack(
    batch: readonly { raw: TopicPartition }[],
    ctx: StageContext,
    waiting: WriterCatchUp,
  ): Promise<number | undefined> {
    const partitions = new Set(batch.map((e) => e.raw.partition));
    for (const p of partitions) {
      const readiness = await waiting.ready(p, ctx.log);
      if (readiness?.kind === 'wait') return readiness.delayMs;
      if (readiness?.kind === 'build') {
        await state.assign(readiness.partitions, ctx);
        waiting.built(p);
      }
    }
    return undefined;
  }

  return {
    name: SCORE_ANOMALY,
    inputs: [TOPICS.readingsEnriched],
    input: enrichedReadingCodec,
    output: { topic: TOPICS.readingsScored, codec: scoredReadingCodec, key: (r) => r.meter_id },
    sideOutputs: [anomaliesOutput],
    batch: { maxRecords: config.maxRecords },
    state,
    writer: deps.writer,
    waitingForWriter: () => catchUp?.waiting ?? [],
    classifyError: (error) => (error instanceof ModelContractError ? 'fatal' : pgRunnerDisposition(error)),

    async init(ctx: StageContext) {
      if (!sources) {
        if (!deps.clients) throw new Error('score_anomaly needs a PostgreSQL pool: pass sql, sources or clients');
        sql = deps.clients.postgres({ max: config.dbPool, applicationName: 'eaio-score_anomaly' });
        sources = pgSources(sql);
      }
      // The model first: a wrong model is the operator's mistake to hear about at once, database or not.
      model ??= await loadAnomalyModel(config.modelPath);
      await waitForPostgres(sql, ctx, { waitMs: deps.clients?.startupWaitMs });
      if (!catchUp && deps.writer && sql && config.rebuildWaitMs > 0)
        catchUp = waitFor(writerProgress(sql, deps.writer, ctx.log));
      const buildings = await attributes.current();
      inference = ctx.metrics?.histogram?.(
        'score_anomaly_inference_seconds',
        'Time of one batched ONNX inference of score_anomaly.',
        INFERENCE_BUCKETS,
      );
      ctx.log.info(
        { model: model.version, path: config.modelPath, threshold: config.threshold, buildings: buildings.size },
        'anomaly model loaded',
      );
    },

    async onPartitionsAssigned(partitions, ctx) {
      await state.assign(catchUp ? await catchUp.hold(partitions, ctx.log) : partitions, ctx);
    },

    async onPartitionsRevoked(partitions) {
      catchUp?.release(partitions);
      state.revoke(partitions);
    },

    async process(batch, ctx) {
      if (batch.length === 0) return [];
      const delayMs = catchUp ? await holdBack(batch, ctx, catchUp) : undefined;
      if (delayMs !== undefined) return batch.map(() => defer(HISTORY_NOT_STORED, delayMs));
      const { model: scorer } = opened();
      const buildings = await attributes.current();
      const lookup = lookupFor();
      await loadMissing(batch, lookup);
      const first = rewind(batch, ctx, lookup);
      const matrix = matrices.pop() ?? new Float32Array(0);
      const features =
        matrix.length >= batch.length * FEATURE_COUNT ? matrix : new Float32Array(batch.length * FEATURE_COUNT);
      try {
        const expected: (number | null)[] = new Array(batch.length);
        const confidence = new Float64Array(batch.length);
        batch.forEach((e, i) => {
          const r = e.value;
          const histories = lookup(e.raw);
          const history = histories.meters.get(r.meter_id) as MeterHistory;
          const timeMs = parseTime(r.time);
          const summary = computeFeatures(
            history,
            { timeMs, value: r.value, airTemperature: r.air_temperature, weatherMissing: r.weather_missing },
            buildings.get(r.building_id) ?? UNKNOWN_BUILDING,
            features,
            i * FEATURE_COUNT,
          );
          expected[i] = summary.expected;
          confidence[i] = summary.confidence;
          histories.journal.record(Number(e.raw.offset), history, timeMs, r.value);
        });
        const scores = await inferOneAtATime(async () => {
          const started = performance.now();
          const result = await scorer.score(features, batch.length);
          inference?.observe((performance.now() - started) / 1000);
          return result;
        });

        let flagged = 0;
        let cold = 0;
        const results: StageResult<ScoredReading>[] = batch.map((e, i) => {
          const raw = scores[i] as number;
          if (!Number.isFinite(raw))
            throw new ModelContractError(
              `anomaly model ${scorer.path} returned ${raw} for a reading; scores must be numbers in [0, 1]`,
            );
          const score = Math.min(1, Math.max(0, raw));
          const isAnomaly = score >= config.threshold;
          const coldStart = (confidence[i] as number) < config.coldConfidence;
          if (coldStart) cold++;
          let named: Record<string, number> | undefined;
          if (isAnomaly) {
            flagged++;
            named = {};
            const offset = i * FEATURE_COUNT;
            FEATURE_NAMES.forEach((name, j) => {
              const value = features[offset + j] as number;
              (named as Record<string, number>)[name] = Number.isFinite(value) ? round(value) : 0;
            });
          }
          const scored = scoredReading(
            e.value,
            score,
            isAnomaly,
            expected[i] ?? null,
            round(confidence[i] as number),
            coldStart,
            scorer.version,
            named,
          );
          const outputs: OutputRecord<ScoredReading>[] = [{ value: scored }];
          if (isAnomaly) outputs.push(toOutput(anomaliesOutput, toAlert(scored, config.threshold)));
          return ok(...outputs);
        });
        const metrics = ctx.metrics;
        if (metrics) {
          metrics.counter('readings_flagged', 'Readings flagged as anomalous (score_anomaly).').inc(flagged);
          metrics.counter('readings_cold_start', 'Readings scored with too little history (score_anomaly).').inc(cold);
        }
        return results;
      } catch (error) {
        // Whatever is tried next (the batch again, or its records one by one) starts from here.
        for (const [histories, offset] of first) histories.journal.rewind(offset);
        throw error;
      } finally {
        matrices.push(features);
      }
    },

    async close() {
      await catchUp?.close();
      if (ownsModel) await model?.release();
      if (ownsSql) await sql?.end({ timeout: 5 });
    },
  };
}
