/**
 * `eaio bench score`: the score_anomaly stage alone on the real broker (KAFKA_BROKERS). Loads
 * `meters` × `hours` synthetic enriched readings (a daily profile, noise, a few zero runs) onto a
 * throw-away topic, runs the stage from the first fetched batch until every reading is on
 * readings.scored.v1, and reports scored readings/s and the inference time per batch (p50 / p99).
 * History starts empty and the catalog is in memory (no PostgreSQL): what is measured is features,
 * inference, encoding and producing, the per-record cost of the stage.
 *
 *   eaio bench score [--meters 500] [--hours 336] [--partitions 6] [--batch 2000] [--client kafkajs|platformatic]
 *
 * Ends with one line: bench score: readings=… readings_per_s=… inference_p50_ms=… inference_p99_ms=… …
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import { loadEnv } from '../config/load.js';
import type { EnrichedReading } from '../domain/messages.js';
import { TOPICS } from '../domain/topics.js';
import { createRegistry, kafkaBrokerFromEnv, StageRunner } from '../pipeline/index.js';
import type { AttributesByBuilding } from '../stages/score_anomaly/attributes.js';
import { scoreAnomalyDefaults } from '../stages/score_anomaly/config.js';
import type { MeterHistory } from '../stages/score_anomaly/history.js';
import { type AnomalyModel, loadAnomalyModel } from '../stages/score_anomaly/model.js';
import { createScoreAnomalyStage, type ScoreSources } from '../stages/score_anomaly/stage.js';

export interface ScoreBenchOptions {
  readonly meters: number;
  readonly hours: number;
  readonly partitions: number;
  readonly batch: number;
  readonly client: 'kafkajs' | 'platformatic';
}

export interface ScoreBenchResult extends ScoreBenchOptions {
  readonly readings: number;
  readonly seconds: number;
  readonly readingsPerSecond: number;
  readonly batches: number;
  readonly inferenceP50Ms: number;
  readonly inferenceP99Ms: number;
  readonly flagged: number;
}

const HOUR = 3_600_000;
const START = Date.UTC(2016, 0, 4);
const progress = (line: string) => process.stderr.write(`bench score: ${line}\n`);

function reading(meter: number, hour: number): EnrichedReading {
  const daily = 50 + 20 * Math.sin((2 * Math.PI * (hour % 24)) / 24);
  const noise = (((meter * 7919 + hour * 104729) % 1000) / 1000) * 6;
  // One stuck-at-zero stretch per meter and fortnight: something to flag.
  const stuck = (hour + meter * 13) % 336 < 5;
  const building = `Bench_office_${meter}`;
  return {
    schema_version: 1,
    meter_id: `${building}:electricity`,
    building_id: building,
    site_id: 'Bench',
    meter_type: 'electricity',
    time: new Date(START + hour * HOUR).toISOString().replace('.000Z', 'Z'),
    value: stuck ? 0 : daily + noise,
    unit: 'kWh',
    original_value: stuck ? 0 : daily + noise,
    original_unit: 'kWh',
    is_estimated: false,
    quality_code: 'measured',
    source: 'bench',
    air_temperature: 12,
    cloud_coverage: null,
    dew_temperature: 4,
    precip_depth_1h: 0,
    sea_level_pressure: 1012,
    wind_direction: 180,
    wind_speed: 3,
    weather_time: new Date(START + hour * HOUR).toISOString().replace('.000Z', 'Z'),
    weather_missing: false,
  };
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);

/** The model, timing each batched inference. */
function timed(model: AnomalyModel, times: number[]): AnomalyModel {
  return {
    ...model,
    async score(features, rows) {
      const started = performance.now();
      const scores = await model.score(features, rows);
      times.push(performance.now() - started);
      return scores;
    },
  };
}

export async function runScoreBench(options: ScoreBenchOptions, brokers: string): Promise<ScoreBenchResult> {
  const log = pino({ level: 'warn' });
  const prefix = `benchscore${randomUUID().slice(0, 8)}`;
  const inTopic = `${prefix}.${TOPICS.readingsEnriched}`;
  const outTopic = `${prefix}.${TOPICS.readingsScored}`;
  const kafka = new kafkajs.Kafka({
    clientId: 'eaio-bench',
    brokers: brokers.split(','),
    logLevel: kafkajs.logLevel.ERROR,
  });
  const admin = kafka.admin();
  await admin.connect();
  const total = options.meters * options.hours;
  const inferenceMs: number[] = [];
  const model = await loadAnomalyModel(scoreAnomalyDefaults().modelPath);
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [inTopic, outTopic, `${prefix}.${TOPICS.anomalies}`].map((topic) => ({
        topic,
        numPartitions: options.partitions,
      })),
    });
    const loader = kafka.producer({ allowAutoTopicCreation: false });
    await loader.connect();
    // Hour by hour, every meter: each meter's readings in time order, as a live feed sends them.
    const messages: { key: string; value: string }[] = [];
    for (let h = 0; h < options.hours; h++)
      for (let m = 0; m < options.meters; m++) {
        const r = reading(m, h);
        messages.push({ key: r.meter_id, value: JSON.stringify(r) });
      }
    for (let sent = 0; sent < messages.length; sent += 5_000) {
      await loader.send({ topic: inTopic, acks: 1, messages: messages.slice(sent, sent + 5_000) });
      if ((sent / 5_000) % 20 === 0) progress(`loaded ${Math.min(messages.length, sent + 5_000)}/${total} readings`);
    }
    await loader.disconnect();

    const attributes: AttributesByBuilding = new Map();
    const sources: ScoreSources = {
      meters: async () => [],
      histories: async () => ({ histories: new Map<string, MeterHistory>(), rows: 0, newest: undefined }),
      attributes: async () => attributes,
    };
    const stage = createScoreAnomalyStage({
      sources,
      model: timed(model, inferenceMs),
      config: { maxRecords: options.batch },
      partitionCount: options.partitions,
    });
    let firstBatchAt: number | undefined;
    const process = stage.process.bind(stage);
    const runner = new StageRunner(
      {
        ...stage,
        process: (batch, ctx) => {
          firstBatchAt ??= performance.now();
          return process(batch, ctx);
        },
      },
      {
        broker: kafkaBrokerFromEnv(
          { KAFKA_BROKERS: brokers, KAFKA_CLIENT_ID: 'eaio-bench', KAFKA_CLIENT: options.client },
          log,
        ),
        log,
        registry: createRegistry(),
      },
      { naming: { prefix }, topicPartitions: options.partitions },
    );
    const outCount = async () =>
      (await admin.fetchTopicOffsets(outTopic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    await runner.start();
    let done = 0;
    let lastReport = 0;
    const deadline = Date.now() + 600_000;
    while (done < total) {
      if (Date.now() > deadline) throw new Error(`timed out with ${done}/${total} readings scored`);
      await new Promise((r) => setTimeout(r, 20));
      done = await outCount();
      if (performance.now() - lastReport > 2_000) {
        lastReport = performance.now();
        progress(`scored ${done}/${total}`);
      }
    }
    const endedAt = performance.now();
    await runner.stop();
    const flagged = (await admin.fetchTopicOffsets(`${prefix}.${TOPICS.anomalies}`)).reduce(
      (sum, p) => sum + Number(p.high) - Number(p.low),
      0,
    );
    const seconds = (endedAt - (firstBatchAt ?? endedAt)) / 1000;
    const sorted = [...inferenceMs].sort((a, b) => a - b);
    return {
      ...options,
      readings: total,
      seconds,
      readingsPerSecond: total / seconds,
      batches: inferenceMs.length,
      inferenceP50Ms: quantile(sorted, 0.5),
      inferenceP99Ms: quantile(sorted, 0.99),
      flagged,
    };
  } finally {
    await model.release();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }
}

export function scoreSummaryLine(r: ScoreBenchResult): string {
  return [
    'bench score:',
    `client=${r.client}`,
    `readings=${r.readings}`,
    `partitions=${r.partitions}`,
    `batch=${r.batch}`,
    `seconds=${r.seconds.toFixed(2)}`,
    `readings_per_s=${Math.round(r.readingsPerSecond)}`,
    `batches=${r.batches}`,
    `inference_p50_ms=${r.inferenceP50Ms.toFixed(2)}`,
    `inference_p99_ms=${r.inferenceP99Ms.toFixed(2)}`,
    `flagged=${r.flagged}`,
  ].join(' ');
}

/** `eaio bench score`: exit code. */
export async function runScoreBenchCli(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      meters: { type: 'string', default: '500' },
      hours: { type: 'string', default: '336' },
      partitions: { type: 'string', default: '6' },
      batch: { type: 'string', default: String(scoreAnomalyDefaults().maxRecords) },
      client: { type: 'string', default: loadEnv().KAFKA_CLIENT },
    },
  });
  const number = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, not ${v}`);
    return n;
  };
  if (values.client !== 'kafkajs' && values.client !== 'platformatic')
    throw new Error(`--client must be kafkajs or platformatic, not ${values.client}`);
  const result = await runScoreBench(
    {
      meters: number('meters', values.meters),
      hours: number('hours', values.hours),
      partitions: number('partitions', values.partitions),
      batch: number('batch', values.batch),
      client: values.client,
    },
    loadEnv().KAFKA_BROKERS,
  );
  process.stdout.write(`${scoreSummaryLine(result)}\n`);
  return 0;
}
