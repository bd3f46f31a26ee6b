/**
 * Per-meter history from PostgreSQL (`meter_readings`, keyed by (meter_id, time)): what a member
 * rebuilds its partitions' state from on assignment (docs/stage-spec.md §13). One query for many
 * meters, rows as arrays, no ORDER BY (MeterHistory takes rows in any order); bounded to the
 * HISTORY_HOURS the features read, behind the newest reading of those meters.
 */
import type { Sql } from 'postgres';
import { pgArrayLiteral } from '../shared/pg-array.js';
import { HISTORY_HOURS, HOUR_MS, MeterHistory } from './history.js';

export interface LoadedHistories {
  readonly histories: Map<string, MeterHistory>;
  readonly rows: number;
  /** Newest reading loaded, ms since epoch; undefined when none. */
  readonly newest: number | undefined;
}

export async function loadHistories(sql: Sql, meters: readonly string[]): Promise<LoadedHistories> {
  const histories = new Map<string, MeterHistory>();
  if (meters.length === 0) return { histories, rows: 0, newest: undefined };
  const rows = await sql
    .unsafe(
      // Each meter's window ends at its own newest reading (sites of a replay sit at different
      // dates), as an uninterrupted run's would; both lookups use the (meter_id, time) key.
      `SELECT r.meter_id, (extract(epoch FROM r.time) * 1000)::float8 AS t, r.value
         FROM unnest($1::text[]) AS m(meter_id)
         CROSS JOIN LATERAL (
           SELECT max(time) AS newest FROM meter_readings WHERE meter_id = m.meter_id) AS last
         JOIN meter_readings r
           ON r.meter_id = m.meter_id AND r.time > last.newest - make_interval(hours => $2::int)`,
      [pgArrayLiteral(meters), HISTORY_HOURS],
      { prepare: true },
    )
    .values();
  let newest = Number.NEGATIVE_INFINITY;
  for (const row of rows) {
    const meter = row[0] as string;
    const time = row[1] as number;
    let history = histories.get(meter);
    if (!history) {
      history = new MeterHistory();
      histories.set(meter, history);
    }
    history.record(time, row[2] as number);
    if (time > newest) newest = time;
  }
  return { histories, rows: rows.length, newest: Number.isFinite(newest) ? newest : undefined };
}

/** Every meter of the catalog: a rebuild picks those on its partitions. */
export async function catalogMeters(sql: Sql): Promise<string[]> {
  return (await sql<{ meter_id: string }[]>`SELECT meter_id FROM energy_meters`).map((r) => r.meter_id);
}

export { HOUR_MS };
