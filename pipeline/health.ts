/**
 * The worker's HTTP face: /metrics (Prometheus), /healthz (the process is alive), /readyz
 * (connected and holding partitions). With an ephemeral port, the worker registers itself in a
 * Prometheus file_sd target file so the local Prometheus finds it, and removes it on close.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Registry } from 'prom-client';

export interface HealthServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly isReady: () => boolean;
  /** Folder of Prometheus file_sd target files; no registration when undefined. */
  readonly sdDir?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      options.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(body);
        },
        (error: unknown) => {
          res.writeHead(500);
          res.end(String(error));
        },
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const ready = options.isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ready ? 'ready\n' : 'not ready\n');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const sdFile = options.sdDir ? join(options.sdDir, `eaio-worker-${process.pid}-${port}.json`) : undefined;
  if (sdFile && options.sdDir) {
    await mkdir(options.sdDir, { recursive: true });
    const target = [{ targets: [`${options.host}:${port}`], labels: { job: 'eaio-worker', ...options.labels } }];
    await writeFile(sdFile, `${JSON.stringify(target, null, 2)}\n`);
  }
  return {
    port,
    async close() {
      if (sdFile) await rm(sdFile, { force: true });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
