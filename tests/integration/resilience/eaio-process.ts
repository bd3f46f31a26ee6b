/** `node bin/eaio.mjs ...` as a user runs it, with its output, exit code and wall time. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EaioResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface EaioChild {
  readonly child: ChildProcess;
  readonly finished: Promise<EaioResult>;
  /** Resolves once stdout or stderr contains `text`. */
  output(text: string, timeoutMs?: number): Promise<void>;
}

export function startEaio(args: readonly string[], env: Record<string, string>): EaioChild {
  const started = Date.now();
  const child = spawn(process.execPath, ['bin/eaio.mjs', ...args], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
      METRICS_PORT: '0',
      EAIO_PROMETHEUS_SD_DIR: mkdtempSync(join(tmpdir(), 'eaio-sd-')),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (stdout.includes(w.text) || stderr.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
    check();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
    check();
  });
  const finished = new Promise<EaioResult>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
  return {
    child,
    finished,
    output(text, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "${text}" within ${timeoutMs} ms\n${stdout}\n${stderr}`.slice(0, 4000))),
          timeoutMs,
        );
        waiters.push({
          text,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        check();
        void finished.then(() => {
          clearTimeout(timer);
          if (waiters.some((w) => w.text === text))
            reject(new Error(`exited before "${text}"\n${stdout}\n${stderr}`.slice(0, 4000)));
        });
      });
    },
  };
}

/** Runs to the end; killed (and failed) after `timeoutMs`. */
export async function runEaio(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<EaioResult> {
  const running = startEaio(args, env);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), timeoutMs);
  const result = await running.finished;
  clearTimeout(timer);
  if (result.signal === 'SIGKILL') throw new Error(`eaio ${args.join(' ')} killed after ${timeoutMs} ms`);
  return result;
}

/** A Node or library stack trace in the output: "    at fn (file:line:col)". */
export const STACK_FRAME = /^\s+at .+[:(]/m;
