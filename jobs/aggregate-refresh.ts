import type { Sql } from 'postgres';

/**
 * Scheduled maintenance for the plain-PostgreSQL path (harmless with TimescaleDB, where both calls
 * are no-ops and TimescaleDB's own policies do the work):
 *  - keep monthly partitions of meter_readings ready ahead of live data;
 *  - recompute the rows of meter_readings_hourly / meter_readings_daily for the (meter, UTC day)
 *    pairs written since the last run (sql/migrations/0008_incremental_rollups.sql).
 * Workers running write_hypertable schedule it (jobs/scheduler.ts); several may run it at once, the
 * SQL functions serialise themselves.
 */
export interface MaintenanceRun {
  readonly partitionsCreated: number;
  readonly refreshed: readonly string[];
  /** (meter, UTC day) pairs recomputed. */
  readonly daysRefreshed: number;
}

/**
 * One maintenance pass; exported so tests and `eaio` commands can run it on demand. `force`
 * recomputes every roll-up row instead of only the days written since the last pass.
 */
export async function runMaintenance(sql: Sql, { monthsAhead = 3, force = false } = {}): Promise<MaintenanceRun> {
  const [partitions] = await sql<{ created: number }[]>`
    SELECT eaio_ensure_partitions(now(), now() + make_interval(months => ${monthsAhead})) AS created`;
  const views = await sql<
    { view_name: string; refreshed: boolean; days: number }[]
  >`SELECT view_name, refreshed, days::int FROM eaio_refresh_aggregates(${force})`;
  return {
    partitionsCreated: partitions?.created ?? 0,
    refreshed: views.filter((v) => v.refreshed).map((v) => v.view_name),
    daysRefreshed: Math.max(0, ...views.map((v) => v.days)),
  };
}
