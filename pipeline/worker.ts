/**
 * A worker process: one or more stages, one shared idempotent producer, one metrics registry and
 * HTTP server, signal handling and the optional "exit when idle" mode used by backfills and tests.
 * Returns the exit code; the caller exits the process with it.
 */
import type { Logger } from 'pino';
import { collectDefaultMetrics } from 'prom-client';
import type { AdminPort, Broker } from './broker.js';
import { errorMessage } from './errors.js';
import { type HealthServer, startHealthServer } from './health.js';
import { createRegistry } from './metrics.js';
import { type QuietWatch, watchForQuiet } from './quiet-watch.js';
import { type RunSummary, type StopReason, stageSummaries } from './run-summary.js';
import { type RunnerOptions, StageRunner } from './runner.js';
import { deadline, installSignalHandlers } from './shutdown.js';
import type { Stage } from './stage.js';

export interface WorkerOptions {
  // biome-ignore lint/suspicious/noExplicitAny: a worker runs stages of any record types
  readonly stages: readonly Stage<any, any>[];
  readonly broker: Broker;
  readonly log: Logger;
  readonly runner: RunnerOptions;
  readonly http?: { readonly host: string; readonly port: number; readonly sdDir?: string };
  /** Drain the inputs, commit and exit 0 once every input partition's committed offset reached its end. */
  readonly exitWhenIdle?: boolean;
  readonly idleCheckMs?: number;
  /** Longest graceful drain before aborting with a non-zero exit. */
  readonly drainTimeoutMs?: number;
  /**
   * Waits, before anything connects, until the services the worker needs answer (its start-up
   * wait); rejects to give up. The signal fires on shutdown.
   */
  readonly waitForServices?: (signal: AbortSignal) => Promise<void>;
  /** Called once the health server listens (tests read the port). */
  readonly onListening?: (port: number) => void;
  /**
   * Called each time the worker goes quiet (records arrived, then none for `quietAfterMs` with
   * nothing in flight); not called when `exitWhenIdle` ends the run instead.
   */
  readonly onQuiet?: () => void;
  readonly quietAfterMs?: number;
  /** Called once on the way out (idle, signal, fatal or abort) with what each stage did. */
  readonly onSummary?: (summary: RunSummary) => void;
}

export const exitCodes = { ok: 0, fatal: 1, aborted: 130 } as const;

/**
 * When every input of the runner is consumed and committed to its end: the input end offsets as a
 * fingerprint; otherwise undefined.
 */
// biome-ignore lint/suspicious/noExplicitAny: see WorkerOptions.stages
async function drainedInputs(admin: AdminPort, runner: StageRunner<any, any>): Promise<string | undefined> {
  if (!runner.isQuiescent()) return undefined;
  await runner.commit(true);
  const ends: string[] = [];
  for (const topic of runner.inputTopics) {
    const [offsets, committed] = await Promise.all([
      admin.topicOffsets(topic),
      admin.groupOffsets(runner.groupId, topic),
    ]);
    for (const end of offsets) {
      ends.push(`${topic}:${end.partition}:${end.high}`);
      if (BigInt(end.high) === BigInt(end.low)) continue;
      const at = committed.find((c) => c.partition === end.partition)?.offset ?? '-1';
      if (BigInt(at) < BigInt(end.high)) return undefined;
    }
  }
  return ends.join(',');
}

export async function runWorker(options: WorkerOptions): Promise<number> {
  const { log } = options;
  const startedAt = performance.now();
  const registry = createRegistry();
  // Two pipelines (topic prefixes) scraped by one Prometheus stay apart.
  registry.setDefaultLabels({ pipeline: options.runner.naming.prefix });
  // Memory, CPU, event-loop lag and GC of the process: what a worker costs, next to what it does.
  collectDefaultMetrics({ register: registry });
  const producer = options.broker.producer();
  const runners = options.stages.map(
    (stage) => new StageRunner(stage, { broker: options.broker, log, registry, producer }, options.runner),
  );
  let http: HealthServer | undefined;
  if (options.http) {
    http = await startHealthServer({
      ...options.http,
      registry,
      isReady: () => runners.every((r) => r.isReady()),
      labels: { stages: options.stages.map((s) => s.name).join(',') },
    });
    options.onListening?.(http.port);
    log.info({ port: http.port }, 'metrics server listening');
  }

  let settle!: (reason: StopReason) => void;
  const outcome = new Promise<StopReason>((resolve) => {
    settle = resolve;
  });
  // A second signal may arrive before the drain starts, so it is remembered, not just handled.
  let requestAbort!: () => void;
  const aborted = new Promise<'abort'>((resolve) => {
    requestAbort = () => resolve('abort');
  });
  // A signal during the start-up wait ends it: waiting for a service must not need kill -9.
  const startup = new AbortController();
  const removeSignals = installSignalHandlers({
    onGraceful: (signal) => {
      log.info({ signal }, 'shutdown requested, draining');
      startup.abort();
      settle('signal');
    },
    onAbort: (signal) => {
      log.warn({ signal }, 'second signal, aborting');
      startup.abort();
      settle('abort');
      requestAbort();
    },
  });
  for (const runner of runners) void runner.finished.then(() => runner.fatal && settle('fatal'));

  let idleTimer: NodeJS.Timeout | undefined;
  let quiet: QuietWatch | undefined;
  let admin: AdminPort | undefined;
  // Not awaited: a stage's init may be waiting for its database when a signal comes, and the
  // drain below (runner.stop aborts the stage's signal) is what ends that wait.
  void (async () => {
    await options.waitForServices?.(startup.signal);
    await producer.connect();
    for (const runner of runners) await runner.start();
    if (options.onQuiet && !options.exitWhenIdle && !startup.signal.aborted)
      quiet = watchForQuiet(runners, options.quietAfterMs ?? 5_000, options.onQuiet);
    if (options.exitWhenIdle && !startup.signal.aborted) {
      const connected = options.broker.admin();
      await connected.connect();
      admin = connected;
      // Idle only after two checks in a row found every stage drained with unchanged input ends: in
      // one check an upstream stage may finish producing just after its downstream stage looked.
      let previous: string | undefined;
      const check = async () => {
        try {
          const drained = await Promise.all(runners.map((r) => drainedInputs(connected, r)));
          const fingerprint = drained.every((d) => d !== undefined) ? drained.join('|') : undefined;
          if (fingerprint !== undefined && fingerprint === previous) return settle('idle');
          previous = fingerprint;
        } catch (error) {
          log.warn({ err: errorMessage(error) }, 'idle check failed');
        }
        idleTimer = setTimeout(check, options.idleCheckMs ?? 500);
      };
      idleTimer = setTimeout(check, options.idleCheckMs ?? 500);
    }
  })().catch((error: unknown) => {
    if (startup.signal.aborted) return;
    log.fatal({ err: errorMessage(error) }, 'worker failed to start');
    settle('fatal');
  });

  const reason = await outcome;
  startup.abort();
  if (idleTimer) clearTimeout(idleTimer);
  quiet?.stop();
  let code: number = reason === 'fatal' ? exitCodes.fatal : exitCodes.ok;
  if (reason !== 'abort') {
    const timeout = deadline(options.drainTimeoutMs ?? 30_000, 'timeout' as const);
    const drained = Promise.all(runners.map((r) => r.stop())).then(() => 'drained' as const);
    const ended = await Promise.race([drained, timeout.promise, aborted]);
    timeout.clear();
    if (ended !== 'drained') {
      log.error({ ended }, 'drain did not finish, aborting');
      code = exitCodes.aborted;
    }
  } else {
    code = exitCodes.aborted;
  }
  removeSignals();
  if (runners.some((r) => r.fatal)) code = exitCodes.fatal;
  await admin?.disconnect().catch(() => undefined);
  if (code !== exitCodes.aborted) await producer.disconnect().catch(() => undefined);
  await http?.close();
  log.info({ code, reason }, 'worker exiting');
  if (options.onSummary) {
    const stages = await stageSummaries(
      registry,
      runners.map((r) => r.stage.name),
    );
    options.onSummary({
      pipeline: options.runner.naming.prefix,
      reason,
      exitCode: code,
      seconds: Math.round(performance.now() - startedAt) / 1000,
      stages,
    });
  }
  return code;
}
