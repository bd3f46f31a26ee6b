/**
 * The e2e tests drive the pipeline the way an operator does: `eaio` child processes against a
 * throw-away database and a unique topic prefix. Every child is tracked so `stopAll` (afterAll)
 * can kill what a failed test left running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Sql } from 'postgres';
import { EAIO_NODE_FLAGS } from '../../../cli/node-flags.js';
import { loadEnv } from '../../../config/load.js';
import { readingKey, WEATHER_COLUMNS, type WeatherColumn } from './bdg2-expected.js';

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Running {
  readonly child: ChildProcess;
  readonly finished: Promise<Finished>;
}

export class EaioProcesses {
  readonly prefix = `eaio-e2e-${randomBytes(4).toString('hex')}`;
  private readonly children = new Set<ChildProcess>();
  private readonly env: NodeJS.ProcessEnv;

  constructor(databaseUrl: string, extraEnv: Record<string, string> = {}) {
    this.env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      EAIO_TOPIC_PREFIX: this.prefix,
      METRICS_PORT: '0',
      // Not the shared Prometheus targets folder: these workers are gone before it would scrape them.
      EAIO_PROMETHEUS_SD_DIR: mkdtempSync(join(tmpdir(), 'eaio-e2e-sd-')),
      LOG_LEVEL: 'warn',
      ...extraEnv,
    };
  }

  start(args: readonly string[], env: Record<string, string> = {}): Running {
    const child = spawn(process.execPath, [...EAIO_NODE_FLAGS, 'bin/eaio.mjs', ...args], {
      cwd: process.cwd(),
      env: { ...this.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const finished = new Promise<Finished>((resolve) => {
      child.once('close', (code, signal) => {
        this.children.delete(child);
        resolve({ code, signal, stdout, stderr });
      });
    });
    return { child, finished };
  }

  /** Runs to completion; a command that outlives `timeoutMs` is killed and reported. */
  async run(args: readonly string[], timeoutMs = 60_000, env: Record<string, string> = {}): Promise<Finished> {
    const running = this.start(args, env);
    const timer = setTimeout(() => running.child.kill('SIGKILL'), timeoutMs);
    const result = await running.finished;
    clearTimeout(timer);
    if (result.signal === 'SIGKILL')
      throw new Error(`eaio ${args.join(' ')}: killed after ${timeoutMs} ms\n${result.stderr}`);
    return result;
  }

  /** Runs and insists on exit code 0, with the output in the error otherwise. */
  async runOk(args: readonly string[], timeoutMs = 60_000, env: Record<string, string> = {}): Promise<Finished> {
    const result = await this.run(args, timeoutMs, env);
    if (result.code !== 0) {
      throw new Error(
        `eaio ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`.slice(0, 5000),
      );
    }
    return result;
  }

  stopAll(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }
}

export interface DeadLetter {
  readonly stage: string;
  readonly code: string;
  readonly message: string;
  readonly key: string;
  /** The payload's `source` (replay: `bdg2:<variant>`), to tell injected records from the source's. */
  readonly source: string | undefined;
}

/** Dead letters of one stage, as `eaio dlq list --json` shows them, keyed like readings. */
export async function readDeadLetters(eaio: EaioProcesses, stage: string): Promise<DeadLetter[]> {
  const listed = await eaio.runOk(['dlq', 'list', stage, '--json', '--limit', '0'], 30_000);
  return listed.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      const view = JSON.parse(line) as { code: string; message: string; value: string | null };
      let key = '(undecodable)';
      let source: string | undefined;
      try {
        const payload = JSON.parse(view.value ?? '') as { meter_id?: unknown; time?: unknown; source?: unknown };
        if (typeof payload.source === 'string') source = payload.source;
        if (
          typeof payload.meter_id === 'string' &&
          typeof payload.time === 'string' &&
          !Number.isNaN(Date.parse(payload.time))
        )
          key = readingKey(payload.meter_id, payload.time);
      } catch {}
      return { stage, code: view.code, message: view.message, key, source };
    });
}

export type TableRow = {
  readonly meter_id: string;
  readonly site_id: string;
  readonly time: Date;
  readonly value: number;
  readonly unit: string;
} & Record<WeatherColumn, number | null>;

/** meter_readings in key order; weather columns as float8 so they compare with Math.fround of the CSV value. */
export async function readMeterReadings(sql: Sql): Promise<TableRow[]> {
  const weather = Object.keys(WEATHER_COLUMNS)
    .map((c) => `${c}::float8 AS ${c}`)
    .join(', ');
  return sql.unsafe<TableRow[]>(
    `SELECT meter_id, site_id, time, value, unit, ${weather} FROM meter_readings ORDER BY meter_id, time`,
  );
}

/** A connected kafkajs admin on the local broker for `use`, disconnected afterwards. */
export async function withAdmin<T>(use: (admin: kafkajs.Admin) => Promise<T>): Promise<T> {
  const kafka = new kafkajs.Kafka({
    clientId: 'eaio-e2e',
    brokers: loadEnv().KAFKA_BROKERS.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the run's topics (unique prefix) so repeated runs do not pile up on the local broker. */
export async function deleteTopics(prefix: string): Promise<void> {
  await withAdmin(async (admin) => {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  });
}

/** Sends raw-reading payloads (objects are JSON-encoded, strings sent as they are) keyed by meter id. */
export async function produceRaw(
  prefix: string,
  messages: readonly { key: string; value: object | string }[],
): Promise<void> {
  const kafka = new kafkajs.Kafka({
    clientId: 'eaio-e2e',
    brokers: loadEnv().KAFKA_BROKERS.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({
      topic: `${prefix}.readings.raw.v1`,
      acks: -1,
      messages: messages.map((m) => ({
        key: m.key,
        value: typeof m.value === 'string' ? m.value : JSON.stringify(m.value),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}
