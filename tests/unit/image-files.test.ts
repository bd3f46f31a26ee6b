import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface ImageFiles {
  /** `COPY --from=build /app/<source> <dest>` of the runtime stage, as [source, dest] pairs. */
  readonly copies: readonly (readonly [string, string])[];
  /** Folders the build stage creates empty (`RUN mkdir -p ...`), so a COPY of them never misses. */
  readonly madeEmpty: ReadonlySet<string>;
}

/** Reads which files the image's runtime stage holds, from the Dockerfile itself. */
function imageFiles(dockerfile: string): ImageFiles {
  const stages = dockerfile.split(/^FROM\s+/m);
  const build = stages.find((s) => /^\S+\s+AS\s+build\b/i.test(s)) ?? '';
  const runtime = stages.find((s) => /^\S+\s+AS\s+runtime\b/i.test(s)) ?? '';
  const mkdir = build.match(/mkdir -p ([^\n&\\]+)/)?.[1] ?? '';
  const copies: [string, string][] = [];
  for (const line of runtime.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'COPY' || words[1] !== '--from=build') continue;
    const dest = words.at(-1) ?? '';
    for (const source of words.slice(2, -1)) {
      const path = source.replace(/^\/app\//, '');
      copies.push([path, dest.endsWith('/') ? join(dest, path) : dest]);
    }
  }
  return { copies, madeEmpty: new Set(mkdir.trim().split(/\s+/)) };
}

/** A folder with exactly the runtime stage's files; node_modules is the repository's, linked. */
function assemble(files: ImageFiles, leaveOut: readonly string[] = []): string {
  const app = mkdtempSync(join(tmpdir(), 'eaio-image-'));
  for (const [source, dest] of files.copies) {
    if (leaveOut.includes(source)) continue;
    const to = join(app, dest);
    mkdirSync(dirname(to), { recursive: true });
    if (source === 'node_modules') symlinkSync(join(ROOT, 'node_modules'), to, 'dir');
    else if (existsSync(join(ROOT, source))) cpSync(join(ROOT, source), to, { recursive: true });
    else if (files.madeEmpty.has(source)) mkdirSync(to, { recursive: true });
    else throw new Error(`the Dockerfile copies ${source}, which the repository does not have`);
  }
  return app;
}

function eaio(app: string, args: readonly string[]) {
  const run = spawnSync(process.execPath, ['bin/eaio.mjs', ...args], {
    cwd: app,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const files = imageFiles(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const apps: string[] = [];
afterAll(() => {
  for (const app of apps) rmSync(app, { recursive: true, force: true });
});

describe('the Docker image holds every file the eaio command needs', () => {
  let app: string;
  beforeAll(() => {
    app = assemble(files);
    apps.push(app);
  });

  it('the runtime stage copies the CLI, the stages and the folders they import', () => {
    const sources = files.copies.map(([source]) => source);
    for (const folder of ['bin', 'cli', 'stages', 'domain', 'sources', 'jobs', 'bench', 'node_modules'])
      expect(sources).toContain(folder);
  });

  it('`eaio --help` (the image default command) lists the commands', () => {
    const { status, output } = eaio(app, ['--help']);
    expect(output).toMatch(/Usage: eaio <command>/);
    expect(output).toMatch(/^ {2}bench /m);
    expect(status).toBe(0);
  });

  it('`eaio run --help` loads the stages and prints its usage', () => {
    const { status, output } = eaio(app, ['run', '--help']);
    expect(output).toMatch(/Usage: eaio run /);
    expect(status).toBe(0);
  });

  it('`eaio --help` loads no benchmark code (it works without bench/)', () => {
    const withoutBench = assemble(files, ['bench']);
    apps.push(withoutBench);
    const { status, output } = eaio(withoutBench, ['--help']);
    expect(output).toMatch(/Usage: eaio <command>/);
    expect(status).toBe(0);
  });
});
