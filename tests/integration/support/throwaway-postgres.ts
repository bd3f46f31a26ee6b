/**
 * A private PostgreSQL 15 cluster in a temp folder, for tests that must stop and start the server
 * (the shared one on 55432 belongs to every developer and is never stopped). Started from the same
 * Debian binaries as scripts/services/postgres.sh; as root the cluster belongs to the `postgres` OS
 * user, because initdb and the server refuse to run as root.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;

export interface ThrowawayPostgres {
  /** Superuser `eaio` (trust authentication on loopback), database `eaio`. */
  readonly url: string;
  readonly port: number;
  /** `pg_ctl stop -m fast`: clients are disconnected with admin_shutdown, as in a restart. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server (if running) and removes the folder. */
  destroy(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function asOwner(binary: string, args: readonly string[]) {
  const [file, argv] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, binary), ...args]]
    : [join(PG_BIN, binary), [...args]];
  return run(file, argv, { cwd: '/', timeout: 60_000 });
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'eaio-pg-'));
  const data = join(dir, 'data');
  chmodSync(dir, 0o755);
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const port = await freePort();
  await asOwner('initdb', ['-D', data, '-E', 'UTF8', '--locale=C.UTF-8', '--auth=trust', '-U', 'eaio']);
  const settings = [
    `-c port=${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c max_connections=40',
    '-c shared_buffers=16MB',
    // Durability is not what these tests measure; a restart is.
    '-c fsync=off',
    '-c timezone=UTC',
  ].join(' ');
  let running = false;
  const start = async () => {
    await asOwner('pg_ctl', ['-D', data, '-l', join(dir, 'postgres.log'), '-o', settings, '-w', '-t', '60', 'start']);
    running = true;
  };
  const stop = async () => {
    await asOwner('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    running = false;
  };
  try {
    await start();
    await asOwner('psql', [
      '-X',
      '-q',
      '-h',
      dir,
      '-p',
      String(port),
      '-U',
      'eaio',
      '-d',
      'postgres',
      '-c',
      'CREATE DATABASE eaio',
    ]);
  } catch (error) {
    if (running) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://eaio@127.0.0.1:${port}/eaio`,
    port,
    start,
    stop,
    async destroy() {
      if (running) await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
