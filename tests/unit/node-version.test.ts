import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const pinned = read('.node-version').trim();
const major = (version: string) => Number.parseInt(version.replace(/^v/, ''), 10);
const pinnedMajor = major(pinned);

const temps: string[] = [];
const relayGroups: number[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  // A relay that failed its test may still run, with its child, in its own process group.
  for (const group of relayGroups) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'eaio-node-'));
  temps.push(dir);
  return dir;
}

/** A `node` on this machine older than the pinned major (the machines here have Node 20), if any. */
function olderNode(): string | undefined {
  const candidates = [...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'node')), '/usr/bin/node'];
  for (const node of candidates) {
    const run = spawnSync(node, ['--version'], { encoding: 'utf8' });
    if (run.status === 0 && major(run.stdout.trim()) < pinnedMajor) return node;
  }
  return undefined;
}
const older = olderNode();
const onPinnedMajor = major(process.versions.node) >= pinnedMajor;

/** `node bin/eaio.mjs args` with a clean environment, local state under `local`. */
function eaio(node: string, args: readonly string[], env: Record<string, string>) {
  const run = spawnSync(node, ['bin/eaio.mjs', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
const nodeLine = (stdout: string) => stdout.split('\n').find((line) => line.startsWith('node '));

describe('the project pins one Node version', () => {
  it('.node-version holds one exact version; package.json, the Dockerfile and the README agree', () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pinnedMajor).toBeGreaterThanOrEqual(24);
    expect(JSON.parse(read('package.json')).engines.node).toBe(`>=${pinnedMajor}`);
    expect(read('Dockerfile')).toMatch(
      new RegExp(`^ARG NODE_IMAGE=node:${pinned.replaceAll('.', '\\.')}-bookworm-slim$`, 'm'),
    );
    expect(read('README.md')).toContain(`Node ${pinnedMajor}`);
  });

  it('the npm scripts start Node through scripts/node.sh, bin/eaio.mjs or a script that sources bootstrap.sh', () => {
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    for (const [name, command] of Object.entries(scripts)) {
      expect(command, name).toMatch(
        /^(bash scripts\/node\.sh |node (--\S+ )*bin\/eaio\.mjs|bash scripts\/(test|demo)\.sh)/,
      );
    }
    for (const file of ['scripts/test.sh', 'scripts/demo.sh'])
      expect(read(file), file).toMatch(/^source scripts\/bootstrap\.sh$/m);
    expect(read('scripts/bootstrap.sh')).toMatch(/^use_pinned_node$/m);
  });
});

describe.skipIf(!onPinnedMajor)('bin/eaio.mjs on the pinned major', () => {
  it('runs where it was started, with no warning, and `services status` names that Node', () => {
    const local = tempDir();
    const run = eaio(process.execPath, ['services', 'status', 'postgres'], { EAIO_LOCAL_DIR: local });
    expect(run.stderr).not.toMatch(/eaio: running on Node/);
    expect(nodeLine(run.stdout)).toBe(`node        ${process.version} ${process.execPath}`);
  });
});

// An older Node is the case the relaunch exists for; without one on this machine there is nothing to start it with.
describe.skipIf(older === undefined || !onPinnedMajor)('bin/eaio.mjs started by an older Node', () => {
  const oldNode = older ?? '';

  it('relaunches itself on the pinned Node under EAIO_NODE_DIR: `services status` reports it', () => {
    const local = tempDir();
    // This test's own Node stands in for the installed pinned version.
    mkdirSync(join(local, 'node', pinned, 'bin'), { recursive: true });
    symlinkSync(process.execPath, join(local, 'node', pinned, 'bin', 'node'));
    const run = eaio(oldNode, ['services', 'status', 'postgres'], {
      EAIO_LOCAL_DIR: local,
      EAIO_NODE_DIR: join(local, 'node'),
    });
    expect(run.stderr).not.toMatch(/eaio: running on Node/);
    expect(nodeLine(run.stdout)).toBe(`node        ${process.version} ${realpathSync(process.execPath)}`);
    expect(run.stdout).toMatch(/^postgres {4}DOWN/m);
  });

  it('ends with the exit code of the relaunched CLI', () => {
    const local = tempDir();
    mkdirSync(join(local, 'node', pinned, 'bin'), { recursive: true });
    symlinkSync(process.execPath, join(local, 'node', pinned, 'bin', 'node'));
    const run = eaio(oldNode, ['nope'], { EAIO_NODE_DIR: join(local, 'node') });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe('eaio: unknown command "nope". Run `eaio --help` for the list.');
  });

  it('without the pinned Node runs on, with one warning line that names the fix', () => {
    const local = tempDir();
    const run = eaio(oldNode, ['services', 'status', 'postgres'], { EAIO_LOCAL_DIR: local });
    const warnings = run.stderr.split('\n').filter((line) => line.startsWith('eaio: running on Node'));
    expect(warnings).toEqual([
      `eaio: running on Node ${spawnSync(oldNode, ['--version'], { encoding: 'utf8' }).stdout.trim()} from ${realpathSync(oldNode)}; ` +
        `the project runs on Node ${pinned} and ${join(local, 'node', pinned, 'bin', 'node')} is missing: ` +
        '`bash scripts/bootstrap.sh` (or `npm test`) installs it',
    ]);
    expect(nodeLine(run.stdout)).toMatch(
      new RegExp(`^node +v\\d+\\.\\S+ \\S+ \\(older than the project's Node ${pinned}: `),
    );
  });
});

/**
 * A relay (bin/pinned-node.mjs) in its own session, so that no terminal's Ctrl-C is involved, in
 * front of a child that prints each SIGINT it gets and exits 7 shortly after; SIGTERM kills it.
 */
function startRelay() {
  const child = `let n = 0;
process.on('SIGINT', () => { n += 1; setTimeout(() => { console.log('SIGINT x' + n); process.exit(7); }, 300); });
setInterval(() => {}, 1000);
console.log('ready');`;
  const relay = `import { relay } from ${JSON.stringify(pathToFileURL(join(ROOT, 'bin/pinned-node.mjs')).href)};
relay(process.execPath, ['-e', process.env.CHILD_SCRIPT]);`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', relay], {
    env: { ...process.env, CHILD_SCRIPT: child },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid !== undefined) relayGroups.push(proc.pid);
  let stdout = '';
  const ready = new Promise<void>((resolveReady) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready')) resolveReady();
    });
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolveExit) => {
    proc.on('exit', (code, signal) => resolveExit({ code, signal, stdout }));
  });
  return { proc, ready, exited };
}

describe('the relay to the pinned Node', () => {
  it('passes a SIGINT sent to it on once, and exits with the child’s code', async () => {
    const { proc, ready, exited } = startRelay();
    await ready;
    proc.kill('SIGINT');
    const end = await exited;
    expect(end.stdout).toContain('SIGINT x1');
    expect(end).toMatchObject({ code: 7, signal: null });
  });

  it('passes SIGTERM on and, when the child dies of it, dies of it too', async () => {
    const { proc, ready, exited } = startRelay();
    await ready;
    proc.kill('SIGTERM');
    expect(await exited).toMatchObject({ code: null, signal: 'SIGTERM' });
  });
});

describe('the kafkajs negative-timer warning (Node ≥ 24)', () => {
  /** Stderr of a Node process that drops the warning, then arms a negative timer from `file`. */
  function stderrOfNegativeTimerIn(file: string): string {
    mkdirSync(resolve(file, '..'), { recursive: true });
    writeFileSync(file, 'module.exports = () => setTimeout(() => {}, -5);\n');
    const script = `import { createRequire } from 'node:module';
import { dropKafkajsNegativeTimeoutWarning } from ${JSON.stringify(pathToFileURL(join(ROOT, 'bin/kafkajs-timer-warning.mjs')).href)};
dropKafkajsNegativeTimeoutWarning();
createRequire(import.meta.url)(${JSON.stringify(file)})();`;
    return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).stderr;
  }

  it.skipIf(!onPinnedMajor)('is dropped when kafkajs arms the timer, and printed when other code does', () => {
    const dir = tempDir();
    expect(stderrOfNegativeTimerIn(join(dir, 'node_modules', 'kafkajs', 'queue.cjs'))).toBe('');
    expect(stderrOfNegativeTimerIn(join(dir, 'stages', 'queue.cjs'))).toMatch(
      /TimeoutNegativeWarning: -5 is a negative number/,
    );
  });
});
