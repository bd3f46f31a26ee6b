import type { Sql } from 'postgres';

/** What a job may use; the caller owns the pool and closes it. */
export interface JobDeps {
  readonly sql: Sql;
}

/** What one run did, as flat fields (`eaio jobs run` prints them as `key=value`). */
export type JobReport = Readonly<Record<string, string | number>>;

export interface JobDescriptor {
  /** Stable name: `eaio jobs run <name>`. */
  readonly name: string;
  /** Other names `eaio jobs run` accepts. */
  readonly aliases?: readonly string[];
  /** One line shown by `eaio jobs list`. */
  readonly summary: string;
  /** node-cron expression the job is meant to run on when a process schedules it. */
  readonly defaultSchedule: string;
  /** One run; safe to start from several processes at once. Loads its code only when called. */
  run(deps: JobDeps): Promise<JobReport>;
  /** Whether a run changed anything (a scheduled run that did is logged at info, the rest at debug). */
  didWork(report: JobReport): boolean;
}

/** Every maintenance job, in the order `eaio jobs list` shows them. */
export const jobs: readonly JobDescriptor[] = [
  {
    name: 'aggregate_refresh',
    aliases: ['refresh_aggregates'],
    summary:
      'partitions of meter_readings 3 months ahead; recompute the meter_readings_hourly/daily rows of the days written since the last run (no-op on TimescaleDB)',
    defaultSchedule: '* * * * *',
    async run({ sql }) {
      const { runMaintenance } = await import('./aggregate-refresh.js');
      const done = await runMaintenance(sql);
      return {
        partitions_created: done.partitionsCreated,
        views_refreshed: done.refreshed.length > 0 ? done.refreshed.join(',') : 'none',
        days_refreshed: done.daysRefreshed,
      };
    },
    didWork: (report) => report.partitions_created !== 0 || report.views_refreshed !== 'none',
  },
];

export function findJob(name: string): JobDescriptor | undefined {
  return jobs.find((job) => job.name === name || job.aliases?.includes(name));
}
