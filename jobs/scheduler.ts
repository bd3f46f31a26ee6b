/**
 * Runs maintenance jobs on their node-cron schedules inside a worker process. The worker starts
 * the jobs its stages name (descriptor `jobs`); a job never crashes the worker: a failed run is
 * logged and the next tick tries again. Several workers may run the same job (jobs serialise
 * themselves in SQL). `runNow` runs them between ticks (the worker calls it when it goes quiet),
 * and stopping runs each job once more, so a short run (`--exit-when-idle`, a backfill) leaves the
 * roll-ups fresh instead of waiting for a tick it never reaches.
 */
import cron from 'node-cron';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { parseEnvSection } from '../config/load.js';
import { findJob, type JobDescriptor } from './registry.js';
import { type JobsSettings, jobsSection, scheduleSetting } from './settings.js';

export interface JobSchedules {
  readonly scheduled: readonly { readonly job: string; readonly schedule: string }[];
  /** How long a worker waits after its last record before `runNow`; undefined: it does not. */
  readonly quietAfterMs: number | undefined;
  /** Runs every scheduled job now, once more after a run already under way. */
  runNow(): Promise<void>;
  /** Stops the schedules; `finalRun` (default true) runs each job once more first. */
  stop(options?: { readonly finalRun?: boolean }): Promise<void>;
}

export interface ScheduleOptions {
  /** The pool the jobs use; opened on the first run, closed by `stop`. */
  readonly sql: () => Sql;
  readonly log: Logger;
  readonly source?: NodeJS.ProcessEnv;
  /** Longest the run at stop may take before the worker exits anyway (default 30 s). */
  readonly finalRunTimeoutMs?: number;
  /** Where job names are looked up (default: the registry; tests pass their own jobs). */
  readonly findJob?: (name: string) => JobDescriptor | undefined;
}

export function scheduleJobs(names: readonly string[], options: ScheduleOptions): JobSchedules {
  const settings = parseEnvSection(jobsSection.schema, options.source, jobsSection.aliases) as Record<string, string> &
    Pick<JobsSettings, 'EAIO_JOBS_QUIET_AFTER_S'>;
  let sql: Sql | undefined;
  const pool = () => {
    sql ??= options.sql();
    return sql;
  };
  const tasks: { stop(): void | Promise<void>; destroy(): void | Promise<void> }[] = [];
  const finalRuns: (() => Promise<void>)[] = [];
  const quietRuns: (() => Promise<void>)[] = [];
  const scheduled: { job: string; schedule: string }[] = [];
  for (const name of names) {
    const job = (options.findJob ?? findJob)(name);
    if (!job) throw new Error(`unknown job "${name}" (eaio jobs list shows the known ones)`);
    const schedule = settings[scheduleSetting(name)] ?? job.defaultSchedule;
    if (schedule === 'off') continue;
    if (!cron.validate(schedule))
      throw new Error(`invalid cron expression for ${name}: "${schedule}" (set ${scheduleSetting(name)})`);
    const log = options.log.child({ job: name });
    const once = async () => {
      const started = performance.now();
      try {
        const report = await job.run({ sql: pool() });
        const done = { ...report, durationMs: Math.round(performance.now() - started) };
        if (job.didWork(report)) log.info(done, 'job done');
        else log.debug(done, 'job done, nothing to do');
      } catch (error) {
        log.error({ err: error instanceof Error ? error.message : String(error) }, 'job failed; the next tick retries');
      }
    };
    // One run of a job at a time in this process, whoever starts it (tick, quiet worker, stop).
    let running: Promise<void> | undefined;
    const run = () => {
      running ??= once().finally(() => {
        running = undefined;
      });
      return running;
    };
    tasks.push(cron.schedule(schedule, run, { noOverlap: true, name: `eaio-${name}` }));
    // The runs at stop and when quiet must see every write, so they start after a run already
    // under way (which may have begun before the last writes); callers waiting together share one.
    const runAfterCurrent = async () => {
      await running;
      await run();
    };
    finalRuns.push(runAfterCurrent);
    quietRuns.push(runAfterCurrent);
    scheduled.push({ job: name, schedule });
  }
  let stopped = false;
  const quietAfterS = settings.EAIO_JOBS_QUIET_AFTER_S;
  return {
    scheduled,
    quietAfterMs: scheduled.length > 0 && quietAfterS > 0 ? quietAfterS * 1000 : undefined,
    async runNow() {
      if (stopped) return;
      await Promise.all(quietRuns.map((run) => run()));
    },
    async stop({ finalRun = true } = {}) {
      stopped = true;
      for (const task of tasks) {
        await task.stop();
        await task.destroy();
      }
      const timeoutMs = options.finalRunTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const finished = Promise.all(finalRun ? finalRuns.map((run) => run()) : []).then(() => 'done' as const);
      const timedOut = (await Promise.race([finished, timeout])) === 'timeout';
      if (timedOut)
        options.log.warn({ timeoutMs }, 'the jobs run at stop did not finish in time; the next worker catches up');
      clearTimeout(timer);
      // A run that overran is stuck: its connection is closed at once, not after 5 more seconds.
      await sql?.end({ timeout: timedOut ? 0 : 5 });
    },
  };
}
