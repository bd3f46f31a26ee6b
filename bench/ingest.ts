/**
 * `eaio bench ingest`: readings/s end to end through validate → enrich_weather →
 * write_hypertable on the local stack, next to the COPY ceiling of the same rows (ingest-copy.ts).
 *
 * A fresh database (migrated, catalog imported) and a unique topic prefix. The three stages run in
 * ONE `eaio run` process, started and joined before the clock starts; the clock runs from the
 * start of a max-speed replay (in this process, as `eaio replay` does it) until every replayed
 * reading is a row or a dead letter. Skipped readings (duplicates in a batch) would never arrive:
 * the wait gives up after a stall and reports what it has.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import kafkajs from 'kafkajs';
import postgres, { type Sql } from 'postgres';
import { ingestUsage } from '../cli/commands/bench-usage.js';
import { writeCatalog } from '../cli/commands/import.js';
import { EAIO_NODE_FLAGS } from '../cli/node-flags.js';
import { loadEnv } from '../config/load.js';
import { METER_TYPES } from '../domain/meter-types.js';
import { TOPICS } from '../domain/topics.js';
import { deadLetterTopic, physicalTopic } from '../pipeline/index.js';
import { createCliProducer } from '../sources/bdg2/kafka-producer.js';
import { parseMetadata } from '../sources/bdg2/metadata.js';
import { ReplayReader, type Variant } from '../sources/bdg2/replay-events.js';
import { publishHours } from '../sources/bdg2/replay-publisher.js';
import { migrate } from '../sql/migrate.js';
import { pipelineStages, planTopics, stagePlan } from '../stages/registry.js';
import { cpuBetween, idleSeconds, peakRssMiB, snapshotCpu } from './cpu-usage.js';
import { type CopyFigure, copyCeiling, median } from './ingest-copy.js';
import { settleIo } from './settle-io.js';

/** The pipeline's stages in order, from the registry: the bench runs what `eaio run all` runs. */
export const INGEST_STAGES: readonly string[] = pipelineStages();
const naming = (prefix: string) => ({ prefix });
/**
 * `chain`: the stages chained in memory in one process (`a+b+c`). `layout`: what docker-compose.yml
 * runs — every stage before the writer chained in one process, producing the writer's input topic
 * once, and the writer in a second process with its own group. `topics`: one process per stage,
 * joined by Kafka topics (the fully split layout).
 */
export type IngestMode = 'topics' | 'layout' | 'chain';
export const INGEST_MODES: readonly IngestMode[] = ['topics', 'layout', 'chain'];
/** The name the summary lines use for a mode. */
const MODE_NAMES: Readonly<Record<IngestMode, string>> = { topics: 'topics', layout: 'layout', chain: 'chained' };

/**
 * With or without `score_anomaly`, measured in the same run: `off` leaves the stage out and points
 * the writer at `readings.enriched.v1`, what the pipeline was before the stage existed.
 */
export type Scoring = 'on' | 'off';
export const SCORINGS: readonly Scoring[] = ['on', 'off'];
const SCORING_STAGE = 'score_anomaly';

export function stagesFor(scoring: Scoring): readonly string[] {
  return scoring === 'on' ? INGEST_STAGES : INGEST_STAGES.filter((stage) => stage !== SCORING_STAGE);
}

/** The workers' settings for a scoring choice. */
function scoringEnv(scoring: Scoring): NodeJS.ProcessEnv {
  return scoring === 'on' ? {} : { EAIO_WRITE_HYPERTABLE_INPUT_TOPIC: TOPICS.readingsEnriched };
}

/** The `eaio run` arguments of each process of a mode, in pipeline order. */
export function modeProcesses(mode: IngestMode, stages: readonly string[] = INGEST_STAGES): string[][] {
  if (mode === 'chain') return [[stages.join('+')]];
  if (mode === 'topics') return stages.map((stage) => [stage]);
  const before = stages.slice(0, -1);
  const writer = stages.at(-1) as string;
  return before.length > 0 ? [[before.join('+')], [writer]] : [[writer]];
}

/** The groups the pipeline runs in, with their physical input topics; the writer's group last. */
const pipelineGroups = (prefix: string, mode: IngestMode, scoring: Scoring) =>
  modeProcesses(mode, stagesFor(scoring))
    .flat()
    .map((name) => {
      const plan = stagePlan(name, naming(prefix), scoringEnv(scoring));
      return { group: plan.group, inputs: plan.inputs.map((t) => physicalTopic(naming(prefix), t)) };
    });

/** The Kafka clients a run can use (KAFKA_CLIENT), each measured with the same data. */
export type IngestClient = 'kafkajs' | 'platformatic';
export const INGEST_CLIENTS: readonly IngestClient[] = ['kafkajs', 'platformatic'];

export type ReplayTiming = 'concurrent' | 'backlog';
export const REPLAY_TIMINGS: readonly ReplayTiming[] = ['concurrent', 'backlog'];
const STALL_MS = 30_000;

export interface IngestOptions {
  readonly dir: string;
  readonly variant: Variant;
  /** Which ways of running the stages to measure, one after the other, each on a fresh database. */
  readonly modes?: readonly IngestMode[];
  /** Which Kafka clients (KAFKA_CLIENT of the workers and the replay), each with every mode. */
  readonly clients?: readonly IngestClient[];
  readonly timings?: readonly ReplayTiming[];
  /** With score_anomaly, without it, or both (default on). */
  readonly scorings?: readonly Scoring[];
  /** How many times to measure every combination (the summary gives the median ratio). */
  readonly repeat?: number;
  /** Keep the database and topics for inspection. */
  readonly keep?: boolean;
  readonly progress?: (line: string) => void;
}

export interface PipelineFigure {
  readonly client: IngestClient;
  readonly mode: IngestMode;
  readonly timing: ReplayTiming;
  /** Whether score_anomaly ran (absent: on). */
  readonly scoring?: Scoring;
  readonly replayed: number;
  readonly rows: number;
  readonly deadLetters: number;
  readonly replaySeconds: number;
  readonly pipelineSeconds: number;
  readonly pipelinePerSecond: number;
  /**
   * COPY of this run's rows, measured right after it: the machine's speed drifts by ±20 % over
   * minutes here, so each run is compared with a ceiling taken next to it.
   */
  readonly copy: CopyFigure;
  /** pipeline readings/s ÷ COPY rows/s. */
  readonly ratio: number;
  readonly complete: boolean;
  /** Per stage, seconds spent in batches (batches of different partitions overlap) and their count. */
  readonly stageBusySeconds: Readonly<Record<string, StageBatches>>;
  /** CPU seconds per process group from replay start to the last row (Linux /proc), largest first. */
  readonly cpuSeconds: readonly [string, number][];
  /** Core-seconds nobody used meanwhile (idle or waiting for I/O; NaN off Linux). */
  readonly idleSeconds: number;
  /** Peak resident memory of each worker process in MiB (Linux VmHWM), in pipeline order. */
  readonly peakRssMiB?: readonly [string, number][];
  /** Per worker, the peaks of RSS, V8 heap used and external (Buffer) memory its /metrics showed. */
  readonly memoryPeaks?: readonly [string, MemoryPeaks][];
}

export interface RatioSummary {
  readonly client: IngestClient;
  readonly mode: IngestMode;
  readonly timing: ReplayTiming;
  readonly scoring: Scoring;
  readonly runs: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Median over the runs: readings replayed, pipeline readings/s, COPY rows/s. */
  readonly readings: number;
  readonly readingsPerSecond: number;
  readonly copyPerSecond: number;
  /** Median over the runs of the largest worker's peak RSS, MiB (NaN when unknown). */
  readonly peakRssMiB: number;
}

export interface IngestFigures {
  readonly dir: string;
  readonly variant: Variant;
  readonly pipelines: readonly PipelineFigure[];
  /** Per mode and timing, over the repeats. */
  readonly summary: readonly RatioSummary[];
}

const largestPeakRss = (run: PipelineFigure): number => {
  const peaks = (run.peakRssMiB ?? []).map(([, mib]) => mib).filter((mib) => !Number.isNaN(mib));
  return peaks.length > 0 ? Math.max(...peaks) : Number.NaN;
};

export function summarise(pipelines: readonly PipelineFigure[]): RatioSummary[] {
  const groups = new Map<string, PipelineFigure[]>();
  for (const p of pipelines) {
    const key = `${p.client}/${p.mode}/${p.timing}/${p.scoring ?? 'on'}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()].map((runs) => {
    const ratios = runs.map((r) => r.ratio);
    const first = runs[0] as PipelineFigure;
    return {
      client: first.client,
      mode: first.mode,
      timing: first.timing,
      scoring: first.scoring ?? 'on',
      runs: runs.length,
      median: median(ratios),
      min: Math.min(...ratios),
      max: Math.max(...ratios),
      readings: median(runs.map((r) => r.replayed)),
      readingsPerSecond: median(runs.map((r) => r.pipelinePerSecond)),
      copyPerSecond: median(runs.map((r) => r.copy.rowsPerSecond)),
      peakRssMiB: median(runs.map(largestPeakRss)),
    };
  });
}

/** `../shared/data/bdg2` next to the repository when it exists (the large slice), else the sample. */
export function defaultBdg2Dir(repoRoot = process.cwd()): string {
  const shared = resolve(repoRoot, '..', 'shared', 'data', 'bdg2');
  return existsSync(join(shared, 'metadata.csv')) ? shared : resolve(repoRoot, 'data', 'bdg2-sample');
}

async function freshDatabase(
  adminUrl: string,
): Promise<{ url: string; drop: () => Promise<void>; release: () => Promise<void> }> {
  const name = `eaio_bench_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    },
    /** Keeps the database (--keep) but closes the admin connection, so the process can exit. */
    release: () => admin.end({ timeout: 5 }),
  };
}

/** EAIO_BENCH_WORKER_FLAGS (space-separated), after the product's flags: V8 takes a flag's last value. */
const extraWorkerFlags = (): readonly string[] =>
  (process.env.EAIO_BENCH_WORKER_FLAGS ?? '').split(' ').filter(Boolean);

interface StartedProcess {
  readonly child: ChildProcess;
  readonly args: readonly string[];
  readonly port: number;
  /** When it was first assigned partitions (epoch ms). */
  readonly assignedAt: number;
}

/** Starts one `eaio run <args>` and resolves once all its stages hold partitions (/readyz). */
async function startProcess(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<StartedProcess> {
  let assignedAt: number | undefined;
  const child = spawn(process.execPath, [...EAIO_NODE_FLAGS, ...extraWorkerFlags(), 'bin/eaio.mjs', 'run', ...args], {
    cwd: process.cwd(),
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number; level?: number; time?: number };
        if (entry.msg === 'metrics server listening' && entry.port) resolvePort(entry.port);
        // When the worker can start consuming (epoch ms): the clock of a backlog run starts here.
        if (entry.msg === 'partitions assigned') assignedAt ??= entry.time;
        // Warnings and errors of the worker are worth seeing next to the figures.
        if ((entry.level ?? 0) >= 40) process.stderr.write(`worker ${args.join(' ')}: ${line}\n`);
      } catch {}
    });
    child.once('exit', (code) => {
      reject(new Error(`eaio run ${args.join(' ')} exited with ${code} before listening`));
      if (code !== null) process.stderr.write(`worker: eaio run ${args.join(' ')} exited with code ${code}\n`);
    });
  });
  const deadline = Date.now() + 60_000;
  while ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status !== 200) {
    if (Date.now() > deadline) throw new Error(`eaio run ${args.join(' ')} did not become ready in 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  while (assignedAt === undefined) await new Promise((r) => setTimeout(r, 10));
  return { child, args, port, assignedAt };
}

/** Starts every process of a mode (in parallel, as compose does); the first assignment starts a backlog clock. */
async function startPipeline(
  env: NodeJS.ProcessEnv,
  mode: IngestMode,
  scoring: Scoring,
  started: StartedProcess[],
): Promise<{ assignedAt: number }> {
  await Promise.all(
    modeProcesses(mode, stagesFor(scoring)).map(async (args) => {
      started.push(await startProcess(env, args));
    }),
  );
  return { assignedAt: Math.min(...started.map((p) => p.assignedAt)) };
}

export interface StageBatches {
  readonly seconds: number;
  readonly batches: number;
  /** Batches handed in again later (e.g. readings waiting for their weather). */
  readonly deferrals: number;
  /** Partition-seconds spent paused (deferrals and retry backoff). */
  readonly pausedSeconds: number;
}

/**
 * Per stage, seconds spent in batches (decode + process + acknowledged produce) and how many
 * batches, from the worker's /metrics: small batches mean per-batch costs dominate.
 */
async function stageBusySeconds(port: number): Promise<Record<string, StageBatches>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const busy: Record<string, StageBatches> = {};
  const fields = {
    pipeline_batch_duration_seconds_sum: 'seconds',
    pipeline_batch_duration_seconds_count: 'batches',
    pipeline_deferrals_total: 'deferrals',
    pipeline_paused_seconds_total: 'pausedSeconds',
  } as const;
  // The stage label may sit anywhere among the labels (the default `pipeline` label comes too).
  const pattern = /^([a-z_]+)\{(?:[^}]*,)?stage="([a-z_+]+)"[^}]*\} ([0-9.e+-]+)$/gm;
  for (const [, metric, stage, value] of text.matchAll(pattern)) {
    const field = fields[metric as keyof typeof fields];
    if (field === undefined) continue;
    const entry = busy[stage as string] ?? { seconds: 0, batches: 0, deferrals: 0, pausedSeconds: 0 };
    // Counters with more labels (the deferral reason) add up per stage.
    busy[stage as string] = { ...entry, [field]: entry[field] + Number(value) };
  }
  return busy;
}

/** Peaks of a worker's memory figures (MiB) over a run, from its /metrics. */
export interface MemoryPeaks {
  rss: number;
  heapUsed: number;
  external: number;
}

const MEMORY_SERIES: Readonly<Record<string, keyof MemoryPeaks>> = {
  process_resident_memory_bytes: 'rss',
  nodejs_heap_size_used_bytes: 'heapUsed',
  nodejs_external_memory_bytes: 'external',
};

/** Samples a worker's memory every `everyMs` until stopped; the peaks of each figure. */
function sampleMemory(port: number, everyMs = 500): { stop: () => MemoryPeaks } {
  const peaks: MemoryPeaks = { rss: 0, heapUsed: 0, external: 0 };
  const timer = setInterval(async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined))?.text().catch(() => '');
    for (const [, name, value] of (text ?? '').matchAll(/^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/gm)) {
      const field = MEMORY_SERIES[name as string];
      if (field) peaks[field] = Math.max(peaks[field], Number(value) / 1_048_576);
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return peaks;
    },
  };
}

/**
 * Workaround for a runtime limit (reported): the runner produces the outputs of a whole fetched
 * batch in one request, so with a backlog (1 MiB fetched per partition) the record batch for one
 * output partition can exceed the broker's default 1 MB message size, and the stage stops with
 * MESSAGE_TOO_LARGE. The bench creates its topics up front with a larger `max.message.bytes`.
 */
async function createTopicsWithLargeMessages(
  admin: kafkajs.Admin,
  prefix: string,
  partitions: number,
  replication: number,
) {
  // Every topic the stages run unchained would touch, the chain's included.
  const topics = new Set(
    INGEST_STAGES.flatMap((name) => planTopics(stagePlan(name, naming(prefix), {}), naming(prefix))),
  );
  await admin.createTopics({
    waitForLeaders: true,
    topics: [...topics].map((topic) => ({
      topic,
      numPartitions: partitions,
      replicationFactor: replication,
      configEntries: [{ name: 'max.message.bytes', value: String(16 * 1024 * 1024) }],
    })),
  });
}

async function deadLetterCount(admin: kafkajs.Admin, prefix: string): Promise<number> {
  const existing = new Set(await admin.listTopics());
  let total = 0;
  for (const stage of INGEST_STAGES) {
    const topic = deadLetterTopic(naming(prefix), stage);
    if (!existing.has(topic)) continue;
    for (const p of await admin.fetchTopicOffsets(topic)) total += Number(p.high) - Number(p.low);
  }
  return total;
}

/** Sum of the writer's stored next offsets over all its partitions. */
async function storedOffsetSum(sql: Sql, group: string): Promise<bigint> {
  const [row] = await sql<{ n: string | null }[]>`
    SELECT sum(next_offset)::text AS n FROM stage_offsets WHERE consumer_group = ${group}`;
  return BigInt(row?.n ?? '0');
}

/** Every group of the pipeline has committed the end of every partition of its inputs. */
async function pipelineDrained(
  admin: kafkajs.Admin,
  prefix: string,
  mode: IngestMode,
  scoring: Scoring,
): Promise<boolean> {
  for (const { group, inputs: topics } of pipelineGroups(prefix, mode, scoring)) {
    const committed = await admin.fetchOffsets({ groupId: group, topics });
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const mine = committed.find((c) => c.topic === topic)?.partitions ?? [];
      for (const end of ends) {
        if (end.high === end.low) continue;
        if (mine.find((p) => p.partition === end.partition)?.offset !== end.high) return false;
      }
    }
  }
  return true;
}

async function rowCount(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM meter_readings`;
  return row?.n ?? 0;
}

function replayReader(dir: string, variant: Variant): ReplayReader {
  const path = join(dir, 'metadata.csv');
  const metadata = parseMetadata(readFileSync(path, 'utf8'), path);
  const buildings = new Map(
    metadata.buildings.map((b) => [b.building_id, { siteId: b.site_id, timezone: b.timezone }]),
  );
  const sites = new Map(metadata.sites.map((s) => [s.site_id, s.timezone]));
  return new ReplayReader({ dir, variant, meterTypes: [...METER_TYPES] }, buildings, sites);
}

/** Every requested mode on its own fresh database; the COPY ceiling on the last one's rows. */
export async function runIngestBench(options: IngestOptions): Promise<IngestFigures> {
  const say = options.progress ?? (() => undefined);
  const combinations = (options.clients ?? ['kafkajs']).flatMap((client) =>
    (options.modes ?? INGEST_MODES).flatMap((mode) =>
      (options.timings ?? REPLAY_TIMINGS).flatMap((timing) =>
        (options.scorings ?? ['on']).map((scoring) => ({ client, mode, timing, scoring })),
      ),
    ),
  );
  const repeat = options.repeat ?? 1;
  const pipelines: PipelineFigure[] = [];
  for (let round = 1; round <= repeat; round++) {
    for (const { client, mode, timing, scoring } of combinations) {
      say(
        `run ${pipelines.length + 1} of ${combinations.length * repeat}: ${client}, ${MODE_NAMES[mode]}, ${timing}, scoring ${scoring}`,
      );
      pipelines.push(await measurePipeline(options, client, mode, timing, scoring));
    }
  }
  return { dir: options.dir, variant: options.variant, pipelines, summary: summarise(pipelines) };
}

async function measurePipeline(
  options: IngestOptions,
  client: IngestClient,
  mode: IngestMode,
  timing: ReplayTiming,
  scoring: Scoring,
): Promise<PipelineFigure> {
  const say = options.progress ?? (() => undefined);
  const env = loadEnv();
  const prefix = `bench-ingest-${randomBytes(4).toString('hex')}`;
  const db = await freshDatabase(env.DATABASE_URL);
  const sql = postgres(db.url, { max: 2, onnotice: () => undefined });
  const kafka = new kafkajs.Kafka({
    clientId: 'eaio-bench',
    brokers: env.KAFKA_BROKERS.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const workers: StartedProcess[] = [];
  try {
    await migrate(sql);
    const metadataPath = join(options.dir, 'metadata.csv');
    await writeCatalog(sql, parseMetadata(readFileSync(metadataPath, 'utf8'), metadataPath));
    say(`database ${new URL(db.url).pathname.slice(1)} migrated, catalog imported; topic prefix ${prefix}`);
    const childEnv = {
      ...process.env,
      DATABASE_URL: db.url,
      EAIO_TOPIC_PREFIX: prefix,
      METRICS_PORT: '0',
      EAIO_PROMETHEUS_SD_DIR: mkdtempSync(join(tmpdir(), 'eaio-bench-sd-')),
      // info: the worker announces its metrics port in the "metrics server listening" line.
      LOG_LEVEL: 'info',
      KAFKA_CLIENT: client,
      ...scoringEnv(scoring),
    };
    await admin.connect();
    await createTopicsWithLargeMessages(admin, prefix, env.EAIO_TOPIC_PARTITIONS, env.EAIO_TOPIC_REPLICATION);
    const reader = replayReader(options.dir, options.variant);
    const producer = createCliProducer({ ...env, EAIO_TOPIC_PREFIX: prefix, KAFKA_CLIENT: client }, 'bench-replay');
    await producer.connect();
    await producer.ensureTopics([`${prefix}.readings.raw.v1`, `${prefix}.weather.raw.v1`]);
    let replayed: number | undefined;
    let replaySeconds = 0;
    const runReplay = () => {
      const from = performance.now();
      return publishHours(reader.hours(), producer, { topicPrefix: prefix, speed: 'max' })
        .then((counts) => {
          replayed = counts.readings.count;
          replaySeconds = (performance.now() - from) / 1000;
          say(`replay done: ${replayed} readings in ${replaySeconds.toFixed(1)} s`);
        })
        .finally(() => producer.disconnect());
    };
    const settle = async () => {
      const { checkpointSkipped } = await settleIo(sql);
      if (checkpointSkipped) say(`CHECKPOINT skipped before the timed window (${checkpointSkipped}); sync only`);
    };
    if (timing === 'backlog') {
      await runReplay();
      await settle();
    }

    const started = await startPipeline(childEnv, mode, scoring, workers);
    let workerExit: { args: string; code: number | null } | undefined;
    for (const w of workers)
      w.child.once('exit', (code) => {
        workerExit ??= { args: w.args.join(' '), code };
      });
    say(`pipeline ready: ${workers.map((w) => `eaio run ${w.args.join(' ')}`).join(' and ')} (client ${client})`);
    if (timing === 'concurrent') await settle();
    const labels = new Map([
      [process.pid, 'bench (replay producer)'],
      ...workers.map((w) => [w.child.pid ?? -1, `eaio run ${w.args.join(' ')}`] as [number, string]),
    ]);
    const cpuBefore = snapshotCpu(labels);
    const memory = workers.map((w) => sampleMemory(w.port));
    const idleBefore = idleSeconds();
    // Backlog: the worker has been consuming since its partitions were assigned; count from there.
    const startedAt = timing === 'backlog' ? performance.now() - (Date.now() - started.assignedAt) : performance.now();
    const elapsed = () => (performance.now() - startedAt) / 1000;
    const replay = timing === 'concurrent' ? runReplay() : Promise.resolve();
    replay.catch(() => undefined);

    // Progress comes from the writer's stored offsets (a tiny table, written in the same transaction
    // as the rows, so the moment they last moved is the moment the last rows landed). Counting
    // meter_readings every 50 ms instead would take a good share of a core from the pipeline.
    // The last group is the one that ends in the writer, whose offsets are stored with its rows.
    const writerGroup = pipelineGroups(prefix, mode, scoring).at(-1)?.group as string;
    let stored = -1n;
    let lastChange = performance.now();
    let lastDrainCheck = 0;
    let lastReport = 0;
    let finishedAt = 0;
    for (;;) {
      const now = await storedOffsetSum(sql, writerGroup);
      if (now !== stored) {
        stored = now;
        lastChange = performance.now();
        finishedAt = elapsed();
      }
      if (replayed !== undefined && performance.now() - lastDrainCheck >= 250) {
        lastDrainCheck = performance.now();
        if (await pipelineDrained(admin, prefix, mode, scoring)) break;
      }
      if (replayed !== undefined && performance.now() - lastChange > STALL_MS) break;
      if (workerExit !== undefined) {
        say(`eaio run ${workerExit.args} exited (code ${workerExit.code}) before the pipeline finished`);
        break;
      }
      if (elapsed() - lastReport >= 2) {
        lastReport = elapsed();
        say(`${elapsed().toFixed(1)} s  replayed ${replayed ?? reader.stats.readings}  writer offsets at ${stored}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const [rows, dead] = await Promise.all([rowCount(sql), deadLetterCount(admin, prefix)]);
    await replay;
    const cpuSeconds = cpuBetween(cpuBefore, snapshotCpu(labels));
    const peakRss = workers.map(
      (w) => [`eaio run ${w.args.join(' ')}`, peakRssMiB(w.child.pid ?? -1)] as [string, number],
    );
    const memoryPeaks = workers.map(
      (w, i) =>
        [`eaio run ${w.args.join(' ')}`, memory[i]?.stop() ?? { rss: 0, heapUsed: 0, external: 0 }] as [
          string,
          MemoryPeaks,
        ],
    );
    const idle = idleSeconds() - idleBefore;
    const busy =
      workerExit === undefined
        ? Object.assign({}, ...(await Promise.all(workers.map((w) => stageBusySeconds(w.port).catch(() => ({}))))))
        : {};
    const total = replayed ?? 0;
    const complete = rows + dead >= total;
    say(
      `pipeline: ${rows} rows + ${dead} dead letters of ${total} readings in ${finishedAt.toFixed(1)} s${complete ? '' : ' (INCOMPLETE: stalled)'}`,
    );

    say('COPY ceiling: exporting the rows, loading them into an empty copy of meter_readings');
    const copy = await copyCeiling(sql, db.url);
    const pipelinePerSecond = rows / finishedAt;
    return {
      client,
      mode,
      timing,
      scoring,
      replayed: total,
      rows,
      deadLetters: dead,
      replaySeconds,
      pipelineSeconds: finishedAt,
      pipelinePerSecond,
      copy,
      ratio: pipelinePerSecond / copy.rowsPerSecond,
      complete,
      stageBusySeconds: busy,
      cpuSeconds,
      idleSeconds: idle,
      peakRssMiB: peakRss,
      memoryPeaks,
    };
  } finally {
    await Promise.all(
      workers.map(async ({ child }) => {
        if (child.exitCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }),
    );
    await sql.end({ timeout: 5 });
    if (options.keep) await db.release();
    else {
      await db.drop();
      const topics = (await admin.listTopics().catch(() => [] as string[])).filter((t) => t.startsWith(`${prefix}.`));
      if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    }
    await admin.disconnect().catch(() => undefined);
  }
}

export function renderIngest(f: IngestFigures): string {
  const rate = (n: number) => `${Math.round(n).toLocaleString('en-US')} readings/s`;
  const label: Record<IngestMode, string> = {
    topics: 'one process per stage, joined by topics',
    layout: 'the production layout: chained up to the writer, the writer in a second process',
    chain: 'stages chained in memory, one process',
  };
  const when: Record<ReplayTiming, string> = {
    concurrent: 'replay running meanwhile, clock from replay start',
    backlog: 'topics filled first, clock from partition assignment',
  };
  const first = f.pipelines[0];
  const percent = (ratio: number) => `${(ratio * 100).toFixed(1)} %`;
  return [
    `BDG2 ${f.variant} from ${f.dir}: ${first?.replayed ?? 0} readings replayed at max speed per run`,
    ...f.pipelines.flatMap((p) => [
      `pipeline (${p.client}; ${stagesFor(p.scoring ?? 'on').join(' → ')}, ${label[p.mode]}; ${when[p.timing]}): ${p.rows} rows + ${p.deadLetters} dead letters in ${p.pipelineSeconds.toFixed(1)} s = ${rate(p.pipelinePerSecond)}${p.complete ? '' : '  (INCOMPLETE)'}  [replay ${p.replaySeconds.toFixed(1)} s]`,
      `  time in batches per stage (partitions overlap): ${Object.entries(p.stageBusySeconds)
        .map(
          ([stage, b]) =>
            `${stage} ${b.seconds.toFixed(1)} s in ${b.batches} batches, ${b.deferrals} deferred, paused ${b.pausedSeconds.toFixed(1)} s`,
        )
        .join(', ')}`,
      `  CPU seconds meanwhile (${availableParallelism()} cores × ${p.pipelineSeconds.toFixed(1)} s = ${(availableParallelism() * p.pipelineSeconds).toFixed(1)} s): ${p.cpuSeconds
        .map(([group, seconds]) => `${group} ${seconds.toFixed(1)}`)
        .join(', ')}${Number.isNaN(p.idleSeconds) ? '' : `; idle ${p.idleSeconds.toFixed(1)}`}`,
      ...(p.peakRssMiB?.length
        ? [
            `  peak RSS: ${p.peakRssMiB.map(([name, mib]) => `${name} ${mib.toFixed(0)} MiB`).join(', ')}`,
            `  sampled peaks (every 0.5 s): ${(p.memoryPeaks ?? [])
              .map(
                ([name, m]) =>
                  `${name} heap used ${m.heapUsed.toFixed(0)}, external ${m.external.toFixed(0)}, rss ${m.rss.toFixed(0)} MiB`,
              )
              .join('; ')}`,
          ]
        : []),
      `  COPY ceiling right after (same rows, empty copy of meter_readings, median of ${p.copy.runSeconds.map((x) => `${x.toFixed(2)} s`).join(' / ')}): ${rate(p.copy.rowsPerSecond)} → ratio ${percent(p.ratio)}`,
    ]),
    ...f.summary.map(
      (s) =>
        `ratio pipeline (${s.client}, ${MODE_NAMES[s.mode]}, ${s.timing}, scoring ${s.scoring}) / COPY: ${percent(s.median)}${s.runs > 1 ? ` median of ${s.runs} runs (${percent(s.min)} – ${percent(s.max)})` : ''}  (goal ≥ 30 %; project goal ≥ 50 %)`,
    ),
    ...ingestSummaryLines(f),
  ].join('\n');
}

/**
 * The lines a script reads, one per client, mode and replay timing: medians over the repeats, the
 * ratio to the COPY ceiling of the same runs, and its range.
 */
export function ingestSummaryLines(f: IngestFigures): string[] {
  return f.summary.map((s) =>
    [
      'bench ingest:',
      `client=${s.client}`,
      `mode=${MODE_NAMES[s.mode]}`,
      `replay=${s.timing}`,
      `readings=${s.readings}`,
      `readings_per_s=${Math.round(s.readingsPerSecond)}`,
      `copy_per_s=${Math.round(s.copyPerSecond)}`,
      `ratio=${s.median.toFixed(3)}`,
      `ratio_min=${s.min.toFixed(3)}`,
      `ratio_max=${s.max.toFixed(3)}`,
      `runs=${s.runs}`,
      ...(Number.isNaN(s.peakRssMiB) ? [] : [`peak_rss_mib=${Math.round(s.peakRssMiB)}`]),
      `scoring=${s.scoring}`,
    ].join(' '),
  );
}

/** `all` (or `both`) → every choice; `a,b` → those; anything unknown → undefined. */
function choices<T extends string>(value: string | undefined, all: readonly T[]): T[] | undefined {
  if (value === 'all' || value === 'both') return [...all];
  const picked = (value ?? '').split(',').map((v) => v.trim());
  return picked.length > 0 && picked.every((v) => all.includes(v as T)) ? (picked as T[]) : undefined;
}

/** The `eaio bench ingest` subcommand; progress on stderr, figures on stdout. */
export async function runIngestCli(argv: readonly string[]): Promise<number> {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({
    args: [...argv],
    options: {
      bdg2: { type: 'string' },
      variant: { type: 'string', default: 'raw' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      mode: { type: 'string', default: 'all' },
      client: { type: 'string', default: loadEnv().KAFKA_CLIENT },
      replay: { type: 'string', default: 'both' },
      scoring: { type: 'string', default: 'on' },
      repeat: { type: 'string', default: '1' },
    },
  });
  const timings = choices(values.replay, REPLAY_TIMINGS);
  // `chained` is the summary lines' name for chain; `both` meant topics and chain before layout existed.
  const modes =
    values.mode === 'both'
      ? (['topics', 'chain'] as IngestMode[])
      : choices(values.mode === 'chained' ? 'chain' : values.mode, INGEST_MODES);
  const clients = choices(values.client, INGEST_CLIENTS);
  const scorings = choices(values.scoring, SCORINGS);
  for (const [option, chosen, all] of [
    ['--scoring', scorings, SCORINGS],
    ['--replay', timings, REPLAY_TIMINGS],
    ['--mode', modes, INGEST_MODES],
    ['--client', clients, INGEST_CLIENTS],
  ] as const)
    if (!chosen) {
      console.error(`${option} must be ${all.join(', ')}, a comma-separated list of them, or all\n\n${ingestUsage}`);
      return 2;
    }
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) {
    console.error(`--repeat must be a whole number ≥ 1, got "${values.repeat}"\n\n${ingestUsage}`);
    return 2;
  }
  if (values.variant !== 'raw' && values.variant !== 'cleaned') {
    console.error(`--variant must be raw or cleaned\n\n${ingestUsage}`);
    return 2;
  }
  const dir = values.bdg2 ? resolve(values.bdg2) : defaultBdg2Dir();
  if (!existsSync(join(dir, 'metadata.csv'))) {
    console.error(`${dir} has no metadata.csv (not a BDG2 folder)\n\n${ingestUsage}`);
    return 2;
  }
  const figures = await runIngestBench({
    dir,
    variant: values.variant,
    keep: values.keep,
    modes: modes as IngestMode[],
    timings: timings as ReplayTiming[],
    clients: clients as IngestClient[],
    scorings: scorings as Scoring[],
    repeat,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  console.log(values.json ? JSON.stringify(figures, null, 2) : renderIngest(figures));
  return figures.pipelines.every((p) => p.complete) ? 0 : 1;
}
