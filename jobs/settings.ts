import { z } from 'zod';
import type { EnvSection } from '../config/load.js';

/** When each job runs in a worker that runs a stage needing it (`jobs` in the stage's descriptor). */
export const jobsSettings = z.object({
  EAIO_JOBS_AGGREGATE_REFRESH_CRON: z
    .string()
    .default('* * * * *')
    .describe(
      'node-cron schedule of aggregate_refresh in workers running write_hypertable: monthly partitions ahead and refresh of meter_readings_hourly/daily (plain PostgreSQL; no-op with TimescaleDB). "off" disables it.',
    ),
  EAIO_JOBS_QUIET_AFTER_S: z.coerce
    .number()
    .min(0)
    .default(5)
    .describe(
      'A worker that has jobs runs them again once its input goes quiet for this long (records arrived, then none), so roll-ups are fresh right after a burst or a backfill ends. 0 turns it off.',
    ),
});

export type JobsSettings = z.infer<typeof jobsSettings>;

export const jobsSection: EnvSection = {
  title: 'Jobs',
  schema: jobsSettings,
  aliases: { EAIO_WRITER_MAINTENANCE_CRON: 'EAIO_JOBS_AGGREGATE_REFRESH_CRON' },
};

/** The setting that holds a job's schedule. */
export const scheduleSetting = (job: string): string => `EAIO_JOBS_${job.toUpperCase()}_CRON`;
