import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../config/load.js';

const env = loadEnv();
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const sdDir = isAbsolute(env.EAIO_PROMETHEUS_SD_DIR)
  ? env.EAIO_PROMETHEUS_SD_DIR
  : resolve(repoRoot, env.EAIO_PROMETHEUS_SD_DIR);
const job = `smoke-${Date.now()}-${process.pid}`;
const targetFile = join(sdDir, `${job}.json`);
const DEADLINE_MS = 60_000;

interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}
interface ActiveTarget {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}
interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function prom<T>(path: string): Promise<T> {
  const res = await fetch(new URL(path, env.PROMETHEUS_URL), { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as PromResponse<T>;
  if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`);
  return body.data;
}

/** Polls `probe` every 500 ms until it returns a value, or fails with the last observation. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + DEADLINE_MS;
  let last = 'nothing yet';
  while (Date.now() < until) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} not within ${DEADLINE_MS / 1000} s (last: ${last})`);
}

describe('Prometheus (local stack)', () => {
  const registry = new Registry();
  const counter = new Counter({
    name: 'eaio_smoke_ticks_total',
    help: 'Ticks of the smoke test',
    registers: [registry],
  });
  let server: Server;
  let ticker: NodeJS.Timeout;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    ticker = setInterval(() => counter.inc(10), 100);

    const { port } = server.address() as AddressInfo;
    await mkdir(sdDir, { recursive: true });
    // Written under another name and renamed so Prometheus never reads a half-written file.
    const tmp = `${targetFile}.tmp`;
    await writeFile(tmp, JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { job } }]));
    await rename(tmp, targetFile);
  });

  afterAll(async () => {
    clearInterval(ticker);
    await rm(targetFile, { force: true });
    await new Promise<void>((ok) => server?.close(() => ok()));
  });

  it('is ready', async () => {
    const res = await fetch(new URL('/-/ready', env.PROMETHEUS_URL), { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
  });

  it('discovers a file_sd target, scrapes it and answers rate() over it', async () => {
    const target = await eventually('target discovered and up', async () => {
      const data = await prom<{ activeTargets: ActiveTarget[] }>('/api/v1/targets?state=active');
      const t = data.activeTargets.find((a) => a.labels.job === job);
      if (t && t.health !== 'up') throw new Error(`target ${t.health}: ${t.lastError}`);
      return t;
    });
    expect(target.health).toBe('up');

    const query = `rate(eaio_smoke_ticks_total{job="${job}"}[5s])`;
    const rate = await eventually('positive rate', async () => {
      const data = await prom<{ resultType: string; result: VectorSample[] }>(
        `/api/v1/query?query=${encodeURIComponent(query)}`,
      );
      const value = Number(data.result[0]?.value[1]);
      return value > 0 ? value : undefined;
    });
    // 10 every 100 ms is 100/s; scrape jitter and window edges keep it only roughly there.
    expect(rate).toBeGreaterThan(10);
    expect(rate).toBeLessThan(1_000);
  });
});
