import { parseArgs } from 'node:util';
import { loadEnv } from '../../config/load.js';
import { scheduleJobs } from '../../jobs/scheduler.js';
import {
  errorMessage,
  formatRunSummary,
  kafkaBrokerFromEnv,
  loggerFromEnv,
  type RunSummary,
  runnerOptionsFromEnv,
  runWorker,
} from '../../pipeline/index.js';
import type { AnyStageDescriptor } from '../../stages/descriptor.js';
import {
  branchStages,
  createStage,
  isStageName,
  pipelineStages,
  stageDescriptors,
  stageNames,
  stagePlan,
} from '../../stages/registry.js';
import { createPgClient } from '../../stages/shared/pg-client.js';
import { type Command, UsageError } from '../command.js';

const usage = `Usage: eaio run <stage...|all> [--chain] [--no-branches] [--exit-when-idle] [--json] [--drain-timeout <ms>]

Runs the named stages in this process (one consumer group member each). Run the same stage in
several processes to share its partitions. Serves /metrics, /healthz and /readyz on
METRICS_HOST:METRICS_PORT and registers with Prometheus (EAIO_PROMETHEUS_SD_DIR).

  all                 every pipeline stage, and the branch stages (embed_profiles: Milvus) each in
                      a group of their own beside them (not the benchmark-only ones)
  --no-branches       with all: leave the branch stages out (no Milvus needed); a branch stage
                      failing (Milvus away longer than the retry budget) stops this worker
  a+b+c               a chain: stages a, b and c as ONE consumer of a's input; records pass from
                      stage to stage in memory, the topics between them are not written (backfills)
  --chain             chain the named stages (same as joining them with +), e.g. run all --chain
  --exit-when-idle    drain the inputs, commit and exit 0 (backfills and tests)
  --drain-timeout     longest graceful drain after SIGTERM/SIGINT before aborting (default 30000)
  --json              the run summary as one JSON object on stdout; the logs go to stderr

When it stops (idle, signal or fatal error) the worker prints a summary per stage: records
received, sent, skipped by reason, dead-lettered by code, retries, deferrals and the stage's own
counters (write_hypertable: rows inserted, updated, unchanged). The figures are the counters
/metrics serves, whose series carry the label pipeline=<EAIO_TOPIC_PREFIX>.

A chain has its own consumer group (eaio.stage.a+b+c): switching between chained and unchained
runs re-reads the input from that group's position; the idempotent writer absorbs the overlap.

At start-up the worker waits for Kafka and PostgreSQL to answer, retrying with backoff and logging
each attempt, for EAIO_STARTUP_WAIT_S seconds (default 60; 0 = for ever), then exits 1.

Exit codes: 0 clean stop, 1 fatal stage error or a service still unreachable after the start-up
wait, 130 aborted (second signal or drain timeout), 2 usage.
Stages, in pipeline order:
${stageDescriptors.map((d) => `  ${d.name.padEnd(18)}  ${d.summary}${stageNote(d)}`).join('\n')}`;

function stageNote(d: AnyStageDescriptor): string {
  if (d.auxiliary) return ' (not in all)';
  return d.branch ? ' (in all, in a group of its own, never chained)' : '';
}

export function resolveStageNames(names: readonly string[], chain = false, withBranches = true): string[] {
  if (names.length === 0) throw new UsageError('name at least one stage, or all');
  const expanded = names.flatMap((n) => (n === 'all' ? pipelineStages() : [n]));
  if (expanded.length === 0) throw new UsageError('no pipeline stages are registered yet (stages/registry.ts)');
  for (const part of expanded.flatMap((n) => n.split('+'))) {
    if (!isStageName(part)) throw new UsageError(`unknown stage "${part}" (known: ${stageNames().join(', ')})`);
  }
  const chained = chain
    ? expanded.flatMap((n) => n.split('+'))
    : expanded.filter((n) => n.includes('+')).flatMap((n) => n.split('+'));
  const branchInChain = chained.find((n) => branchStages().includes(n as never));
  if (branchInChain)
    throw new UsageError(
      `${branchInChain} reads the pipeline's output in a group of its own and cannot be a step of a chain; run it beside the chain (eaio run all --chain does)`,
    );
  // `all` also runs the branch stages, each in its own group beside the pipeline (or its chain).
  const branches = names.includes('all') && withBranches ? branchStages().filter((b) => !expanded.includes(b)) : [];
  const stages = chain ? [expanded.flatMap((n) => n.split('+')).join('+')] : [...new Set(expanded)];
  return [...stages, ...branches];
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run pipeline stages (consumer group members) until stopped or idle',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        chain: { type: 'boolean', default: false },
        'no-branches': { type: 'boolean', default: false },
        'exit-when-idle': { type: 'boolean', default: false },
        'drain-timeout': { type: 'string', default: '30000' },
        json: { type: 'boolean', default: false },
      },
    });
    const names = resolveStageNames(positionals, values.chain, !values['no-branches']);
    const drainTimeoutMs = Number(values['drain-timeout']);
    if (!Number.isFinite(drainTimeoutMs) || drainTimeoutMs <= 0)
      throw new UsageError('--drain-timeout must be a positive number of ms');
    const env = loadEnv();
    const log = loggerFromEnv(env, 'eaio-worker', values.json ? 2 : undefined);
    let summary: RunSummary | undefined;
    const naming = { prefix: env.EAIO_TOPIC_PREFIX };
    const stages = await Promise.all(names.map((name) => createStage(name, { env, naming })));
    const broker = kafkaBrokerFromEnv(env, log);
    const jobs = scheduleJobs([...new Set(names.flatMap((name) => stagePlan(name, naming).jobs))], {
      sql: () => createPgClient(env.DATABASE_URL, { max: 1, applicationName: 'eaio-jobs' }),
      log,
    });
    if (jobs.scheduled.length > 0) log.info({ jobs: jobs.scheduled }, 'maintenance jobs scheduled');
    const code = await runWorker({
      stages,
      broker,
      waitForServices: (signal) => broker.waitUntilReachable({ waitMs: env.EAIO_STARTUP_WAIT_S * 1000, log, signal }),
      log,
      runner: runnerOptionsFromEnv(env),
      http: { host: env.METRICS_HOST, port: env.METRICS_PORT, sdDir: env.EAIO_PROMETHEUS_SD_DIR },
      exitWhenIdle: values['exit-when-idle'],
      drainTimeoutMs,
      ...(jobs.quietAfterMs === undefined
        ? {}
        : { quietAfterMs: jobs.quietAfterMs, onQuiet: () => void jobs.runNow() }),
      onSummary: (s) => {
        summary = s;
      },
    });
    // Before the jobs' last run: a container stopped within its grace period still leaves it.
    if (summary) process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : formatRunSummary(summary));
    // Only a clean stop refreshes once more: after a fatal error or an abort the database may be the cause.
    await jobs
      .stop({ finalRun: code === 0 })
      .catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'jobs did not stop cleanly'));
    // kafkajs may keep sockets and timers alive after an abort; the exit code is what matters.
    setTimeout(() => process.exit(code), 100).unref();
    if (code !== 0) process.exit(code);
    return code;
  },
};
