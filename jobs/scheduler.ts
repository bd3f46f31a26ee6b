/**
 * Runs maintenance jobs on their node-cron schedules inside a worker process. The worker starts
 * the jobs its stages name (descriptor `jobs`); a job never crashes the worker: a failed run is
 * logged and the next tick tries again. Several workers may run the same job (jobs serialise
 * themselves in SQL).
 */
import cron from 'node-cron';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { parseEnvSection } from '../config/load.js';
import { findJob } from './registry.js';
import { jobsSection, scheduleSetting } from './settings.js';

export interface JobSchedules {
  readonly scheduled: readonly { readonly job: string; readonly schedule: string }[];
  stop(): Promise<void>;
}

export interface ScheduleOptions {
  /** The pool the jobs use; opened on the first run, closed by `stop`. */
  readonly sql: () => Sql;
  readonly log: Logger;
  readonly source?: NodeJS.ProcessEnv;
}

export function scheduleJobs(names: readonly string[], options: ScheduleOptions): JobSchedules {
  const settings = parseEnvSection(jobsSection.schema, options.source, jobsSection.aliases) as Record<string, string>;
  let sql: Sql | undefined;
  const pool = () => {
    sql ??= options.sql();
    return sql;
  };
  const tasks: { stop(): void | Promise<void>; destroy(): void | Promise<void> }[] = [];
  const scheduled: { job: string; schedule: string }[] = [];
  for (const name of names) {
    const job = findJob(name);
    if (!job) throw new Error(`unknown job "${name}" (eaio jobs list shows the known ones)`);
    const schedule = settings[scheduleSetting(name)] ?? job.defaultSchedule;
    if (schedule === 'off') continue;
    if (!cron.validate(schedule))
      throw new Error(`invalid cron expression for ${name}: "${schedule}" (set ${scheduleSetting(name)})`);
    const log = options.log.child({ job: name });
    const run = async () => {
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
    // noOverlap: a run slower than the interval is not started twice.
    tasks.push(cron.schedule(schedule, run, { noOverlap: true, name: `eaio-${name}` }));
    scheduled.push({ job: name, schedule });
  }
  return {
    scheduled,
    async stop() {
      for (const task of tasks) {
        await task.stop();
        await task.destroy();
      }
      await sql?.end({ timeout: 5 });
    },
  };
}
