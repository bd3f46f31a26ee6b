import type { Sql } from 'postgres';

/**
 * Scheduled maintenance for the plain-PostgreSQL path (harmless with TimescaleDB, where both calls
 * are no-ops and TimescaleDB's own policies do the work):
 *  - keep monthly partitions of meter_readings ready ahead of live data;
 *  - refresh meter_readings_hourly / meter_readings_daily when meter_readings changed.
 * Workers running write_hypertable schedule it (jobs/scheduler.ts); several may run it at once, the
 * SQL functions serialise themselves.
 */
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
