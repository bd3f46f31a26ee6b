/**
 * A real worker (`eaio run passthrough`) registers its /metrics with the local Prometheus through
 * file_sd, gets scraped, and every PromQL expression of the provisioned Grafana dashboards runs
 * without error on the real Prometheus — returning data where the series exists.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EAIO_NODE_FLAGS } from '../../../cli/node-flags.js';
import { loadEnv } from '../../../config/load.js';

const env = loadEnv();
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const sdDir = isAbsolute(env.EAIO_PROMETHEUS_SD_DIR)
  ? env.EAIO_PROMETHEUS_SD_DIR
  : resolve(repoRoot, env.EAIO_PROMETHEUS_SD_DIR);
const prefix = `obs${randomUUID().slice(0, 8)}`;
const RECORDS = 500;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<Sample[]> {
  const url = new URL('/api/v1/query', env.PROMETHEUS_URL);
  url.searchParams.set('query', expr);
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { status: string; error?: string; data: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`Prometheus rejected ${expr}: ${body.error}`);
  return body.data.result;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function dashboardExpressions(): { panel: string; expr: string }[] {
  const dir = join(repoRoot, 'grafana/dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((file) => {
      const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        panels: { title: string; targets?: { expr?: string }[] }[];
      };
      return dashboard.panels.flatMap((p) =>
        (p.targets ?? []).flatMap((t) => (t.expr ? [{ panel: `${file}: ${p.title}`, expr: t.expr }] : [])),
      );
    });
}

let worker: ChildProcess | undefined;
let instance = '';

beforeAll(async () => {
  worker = spawn(process.execPath, [...EAIO_NODE_FLAGS, join(repoRoot, 'bin/eaio.mjs'), 'run', 'passthrough'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      EAIO_TOPIC_PREFIX: prefix,
      EAIO_TOPIC_PARTITIONS: '2',
      METRICS_PORT: '0',
      EAIO_PROMETHEUS_SD_DIR: sdDir,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  worker.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  const port = await eventually('the worker metrics server', async () => /"port":(\d+)/.exec(output)?.[1], 30_000);
  instance = `127.0.0.1:${port}`;
  await eventually(
    'the worker to start consuming',
    async () => (output.includes('stage started') ? true : undefined),
    30_000,
  );

  const kafka = new kafkajs.Kafka({
    clientId: 'eaio-test',
    brokers: env.KAFKA_BROKERS.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: `${prefix}.bench.in.v1`,
    messages: Array.from({ length: RECORDS }, (_, i) => ({ key: `m${i % 10}`, value: `r${i}` })),
  });
  await producer.disconnect();
});

afterAll(async () => {
  worker?.kill('SIGTERM');
  const admin = new kafkajs.Kafka({
    clientId: 'eaio-test',
    brokers: env.KAFKA_BROKERS.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

describe('worker metrics in the local Prometheus', () => {
  it('scrapes the worker found through file_sd and counts its records, labelled with its pipeline', async () => {
    const received = await eventually('the scraped record count', async () => {
      const [sample] = await query(
        `pipeline_records_received_total{instance="${instance}", stage="passthrough", pipeline="${prefix}"}`,
      );
      return sample && Number(sample.value[1]) >= RECORDS ? Number(sample.value[1]) : undefined;
    });
    expect(received).toBe(RECORDS);
  });

  it('answers every dashboard expression without error, with data where the series exists', async () => {
    const expressions = dashboardExpressions();
    expect(expressions.length).toBeGreaterThan(0);
    // rate() needs two scrapes after the records moved; the scrape interval is 1 s.
    await new Promise((r) => setTimeout(r, 3_000));
    const empty: string[] = [];
    for (const { panel, expr } of expressions) {
      // The dashboards' $pipeline variable, set to this worker's topic prefix as Grafana would.
      const result = await query(expr.replaceAll('$pipeline', prefix));
      if (result.length === 0) empty.push(panel);
    }
    // Dead letters only get a series once a record is dead-lettered; the passthrough stage cannot fail.
    expect(empty.filter((p) => !/dead/i.test(p))).toEqual([]);
  });
});
