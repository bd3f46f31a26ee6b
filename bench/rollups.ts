/**
 * What the incremental roll-ups (sql/migrations/0008_incremental_rollups.sql) cost the writer and
 * what they save the refresh, on a throw-away database (plain PostgreSQL path):
 *  - the writer's batch (HypertableWriter.write, the stage's own path) with the change-log triggers
 *    on and off, alternated in one run, as a ratio;
 *  - the refresh after one batch (the days it touched) against the full recompute at the table's size.
 *
 *   eaio bench rollups [--meters 1000] [--days 30] [--batch-hours 5] [--rounds 12]
 *
 * Ends with one line: bench rollups: rows=… insert_ms_log=… insert_ms_nolog=… log_overhead_pct=… …
 */
import { parseArgs } from 'node:util';
import type { Sql } from 'postgres';
import { loadEnv } from '../config/load.js';
import { migrate } from '../sql/migrate.js';
import type { MeterReadingRow } from '../stages/write_hypertable/rows.js';
import { HypertableWriter } from '../stages/write_hypertable/writer.js';
import { median } from './ingest-copy.js';
import { withThrowawayDatabase } from './throwaway-database.js';

export interface RollupBenchOptions {
  readonly meters: number;
  readonly days: number;
  readonly batchHours: number;
  readonly rounds: number;
}

export interface RollupBenchResult extends RollupBenchOptions {
  readonly rows: number;
  readonly batchRows: number;
  readonly insertMsLog: readonly number[];
  readonly insertMsNoLog: readonly number[];
  readonly refreshBatchMs: number;
  readonly refreshBatchDays: number;
  readonly refreshFullMs: number;
}

const hourMs = 3_600_000;
const TRIGGERS = ['eaio_aggregates_dirty_insert', 'eaio_aggregates_dirty_update', 'eaio_aggregates_dirty_delete'];
const progress = (message: string) => process.stderr.write(`rollups: ${message}\n`);
const START = Date.UTC(2016, 0, 1);

async function seed(sql: Sql, meters: number, days: number): Promise<void> {
  const end = new Date(START + days * 24 * hourMs);
  await sql`INSERT INTO sites (site_id, timezone) VALUES ('Bench', 'UTC')`;
  await sql`
    INSERT INTO buildings (building_id, site_id, timezone)
    SELECT 'Bench_b' || b, 'Bench', 'UTC' FROM generate_series(0, ${meters - 1}::int) b`;
  await sql`
    INSERT INTO energy_meters (meter_id, building_id, meter_type, unit)
    SELECT 'Bench_b' || m || ':electricity', 'Bench_b' || m, 'electricity', 'kWh'
    FROM generate_series(0, ${meters - 1}::int) m`;
  await sql`SELECT eaio_ensure_partitions(${new Date(START)}::timestamptz, ${new Date(START + 400 * 24 * hourMs)}::timestamptz)`;
  await sql`
    INSERT INTO meter_readings (time, meter_id, building_id, site_id, meter_type, value, unit, air_temperature)
    SELECT t, m.meter_id, m.building_id, 'Bench', 'electricity', random() * 100, 'kWh', random() * 30
    FROM energy_meters m, generate_series(${new Date(START)}::timestamptz, ${end}::timestamptz - interval '1 hour', interval '1 hour') t`;
  await sql`SELECT * FROM eaio_refresh_aggregates(true)`;
  await sql`ANALYZE`;
}

/** One writer batch: every meter, `hours` consecutive hours from `fromMs`. */
function batch(meters: number, fromMs: number, hours: number): MeterReadingRow[] {
  const rows: MeterReadingRow[] = [];
  for (let h = 0; h < hours; h++) {
    const time = new Date(fromMs + h * hourMs).toISOString();
    for (let m = 0; m < meters; m++)
      rows.push({
        time,
        meter_id: `Bench_b${m}:electricity`,
        building_id: `Bench_b${m}`,
        site_id: 'Bench',
        meter_type: 'electricity',
        value: Math.random() * 100,
        unit: 'kWh',
        quality_code: 'measured',
        is_estimated: false,
        anomaly_score: null,
        is_anomaly: null,
        air_temperature: Math.random() * 30,
        cloud_coverage: null,
        dew_temperature: null,
        precip_depth_1h: null,
        sea_level_pressure: null,
        wind_direction: null,
        wind_speed: null,
        source: 'bench',
      });
  }
  return rows;
}

async function setLog(sql: Sql, on: boolean): Promise<void> {
  for (const trigger of TRIGGERS)
    await sql.unsafe(`ALTER TABLE meter_readings ${on ? 'ENABLE' : 'DISABLE'} TRIGGER ${trigger}`);
}

async function timed<T>(work: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export async function benchRollups(options: RollupBenchOptions, databaseUrl: string): Promise<RollupBenchResult> {
  return withThrowawayDatabase(databaseUrl, async (sql, name) => {
    progress(`migrating ${name}`);
    await migrate(sql);
    const [path] = await sql<{ timescale: boolean }[]>`SELECT eaio_has_timescaledb() AS timescale`;
    if (path?.timescale)
      throw new Error('TimescaleDB is present: its continuous aggregates have no change log to measure');
    progress(`seeding ${options.meters} meters × ${options.days} days of hourly readings, then a full refresh`);
    await seed(sql, options.meters, options.days);
    const writer = new HypertableWriter(sql, 'bench-rollups');
    let at = START + options.days * 24 * hourMs;
    const next = () => {
      const rows = batch(options.meters, at, options.batchHours);
      at += options.batchHours * hourMs;
      return rows;
    };
    // Untimed: the first batch warms the plans and the partition cache.
    await writer.write(next(), []);
    const insertMsLog: number[] = [];
    const insertMsNoLog: number[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      // Alternating the order too: the second batch of a round meets a slightly bigger table.
      for (const on of round % 2 === 0 ? [true, false] : [false, true]) {
        await setLog(sql, on);
        const rows = next();
        (on ? insertMsLog : insertMsNoLog).push(await timed(() => writer.write(rows, [])));
      }
      progress(
        `round ${round}/${options.rounds}: ${insertMsLog.at(-1)?.toFixed(0)} ms with the log, ${insertMsNoLog.at(-1)?.toFixed(0)} ms without`,
      );
    }
    await setLog(sql, true);
    // The no-log batches are not in the log: a full refresh brings the roll-ups level before timing.
    await sql`SELECT * FROM eaio_refresh_aggregates(true)`;
    await writer.write(next(), []);
    let days = 0;
    const refreshBatchMs = await timed(async () => {
      const [row] = await sql<{ days: number }[]>`SELECT max(days)::int AS days FROM eaio_refresh_aggregates()`;
      days = row?.days ?? 0;
    });
    progress(
      `refresh after one batch: ${days} (meter, day) pairs in ${refreshBatchMs.toFixed(0)} ms; now a full refresh`,
    );
    const refreshFullMs = await timed(() => sql`SELECT * FROM eaio_refresh_aggregates(true)`);
    const [count] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM meter_readings`;
    return {
      ...options,
      rows: count?.n ?? 0,
      batchRows: options.meters * options.batchHours,
      insertMsLog,
      insertMsNoLog,
      refreshBatchMs,
      refreshBatchDays: days,
      refreshFullMs,
    };
  });
}

export function rollupSummaryLine(r: RollupBenchResult): string {
  const withLog = median(r.insertMsLog);
  const without = median(r.insertMsNoLog);
  // Paired per round: both batches of a round ran seconds apart, so drift cancels out.
  const overhead = median(r.insertMsLog.map((ms, i) => ms / (r.insertMsNoLog[i] ?? Number.NaN)));
  return [
    'bench rollups:',
    `rows=${r.rows}`,
    `batch_rows=${r.batchRows}`,
    `rounds=${r.rounds}`,
    `insert_ms_log=${withLog.toFixed(1)}`,
    `insert_ms_nolog=${without.toFixed(1)}`,
    `log_overhead_pct=${((overhead - 1) * 100).toFixed(1)}`,
    `refresh_batch_days=${r.refreshBatchDays}`,
    `refresh_batch_ms=${r.refreshBatchMs.toFixed(0)}`,
    `refresh_full_ms=${r.refreshFullMs.toFixed(0)}`,
    `full_to_batch=${(r.refreshFullMs / r.refreshBatchMs).toFixed(1)}`,
  ].join(' ');
}

/** `eaio bench rollups`: exit code. */
export async function runRollupBenchCli(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      meters: { type: 'string', default: '1000' },
      days: { type: 'string', default: '30' },
      'batch-hours': { type: 'string', default: '5' },
      rounds: { type: 'string', default: '12' },
    },
  });
  const options: RollupBenchOptions = {
    meters: Number(values.meters),
    days: Number(values.days),
    batchHours: Number(values['batch-hours']),
    rounds: Number(values.rounds),
  };
  for (const [key, value] of Object.entries(options))
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${key} must be a positive whole number`);
  const result = await benchRollups(options, loadEnv().DATABASE_URL);
  console.log(rollupSummaryLine(result));
  return 0;
}
