import cron from 'node-cron';
import type { Sql } from 'postgres';

/**
 * Scheduled maintenance for the plain-PostgreSQL path (harmless with TimescaleDB, where both calls
 * are no-ops and TimescaleDB's own policies do the work):
 *  - keep monthly partitions of meter_readings ready ahead of live data;
 *  - refresh meter_readings_hourly / meter_readings_daily when meter_readings changed.
 * The worker process starts it; several workers may run it, the SQL functions serialise themselves.
 */
export interface MaintenanceLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RefreshJobOptions {
  /** Cron expression (node-cron, with seconds optional). Default: every minute. */
  readonly schedule?: string;
  /** Months of partitions kept ready after the current one. */
  readonly monthsAhead?: number;
  readonly logger?: MaintenanceLogger;
}

export interface MaintenanceRun {
  readonly partitionsCreated: number;
  readonly refreshed: readonly string[];
}

/** One maintenance pass; exported so tests and `eaio` commands can run it on demand. */
export async function runMaintenance(sql: Sql, monthsAhead = 3): Promise<MaintenanceRun> {
  const [partitions] = await sql<{ created: number }[]>`
    SELECT eaio_ensure_partitions(now(), now() + make_interval(months => ${monthsAhead})) AS created`;
  const views = await sql<
    { view_name: string; refreshed: boolean }[]
  >`SELECT view_name, refreshed FROM eaio_refresh_aggregates()`;
  return {
    partitionsCreated: partitions?.created ?? 0,
    refreshed: views.filter((v) => v.refreshed).map((v) => v.view_name),
  };
}

export interface RefreshJob {
  /** Runs one pass now (in addition to the schedule). */
  runNow(): Promise<MaintenanceRun>;
  stop(): Promise<void>;
}

export function startRefreshJob(sql: Sql, options: RefreshJobOptions = {}): RefreshJob {
  const schedule = options.schedule ?? '* * * * *';
  if (!cron.validate(schedule)) throw new Error(`invalid cron expression for the aggregate refresh job: "${schedule}"`);
  const monthsAhead = options.monthsAhead ?? 3;
  const run = async (): Promise<MaintenanceRun> => {
    const started = performance.now();
    try {
      const result = await runMaintenance(sql, monthsAhead);
      if (result.partitionsCreated > 0 || result.refreshed.length > 0) {
        options.logger?.info(
          { ...result, durationMs: Math.round(performance.now() - started) },
          'aggregate maintenance done',
        );
      }
      return result;
    } catch (error) {
      // A failed pass is retried by the next tick; the job must not crash the worker.
      options.logger?.error({ err: error }, 'aggregate maintenance failed');
      throw error;
    }
  };
  // noOverlap: a refresh slower than the interval is not started twice.
  const task = cron.schedule(schedule, () => run().catch(() => undefined), {
    noOverlap: true,
    name: 'eaio-aggregate-refresh',
  });
  return {
    runNow: run,
    async stop() {
      await task.stop();
      await task.destroy();
    },
  };
}
