/**
 * How long a member takes to rebuild partition-owned state from PostgreSQL after a rebalance
 * (docs/stage-spec.md §13): `meters` meters with `days` of hourly readings in `meter_readings`, the
 * member assigned `assigned` of `partitions` partitions loads the recent readings of the meters on
 * them (keysOnPartitions → one `meter_id = ANY(...)` query with a time bound) into per-meter arrays,
 * through PartitionStateStore as a stage would. Runs on a throw-away database.
 *
 *   npx tsx bench/state-rebuild.ts [--meters 1000] [--days 7] [--partitions 12] [--assigned 12] [--runs 5]
 *
 * Prints one line: meters=1000 rows=168000 partitions=12/12 rebuild_ms=<median> ...
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Sql } from 'postgres';
import { loadEnv } from '../config/load.js';
import { keysOnPartitions, PartitionStateStore, type StageContext } from '../pipeline/index.js';
import { migrate } from '../sql/migrate.js';
import { median } from './ingest-copy.js';
import { withThrowawayDatabase } from './throwaway-database.js';

export interface RebuildOptions {
  readonly meters: number;
  readonly days: number;
  readonly partitions: number;
  readonly assigned: number;
  readonly runs: number;
}

export interface RebuildResult extends RebuildOptions {
  readonly rows: number;
  readonly rebuildMs: readonly number[];
  readonly queryMs: readonly number[];
}

/** One meter's recent history, in time order (what score_anomaly keeps for lags and rolling stats). */
interface MeterHistory {
  readonly times: Float64Array;
  readonly values: Float64Array;
}

const hourMs = 3_600_000;
const progress = (message: string) => process.stderr.write(`state-rebuild: ${message}\n`);

async function seed(sql: Sql, meters: number, days: number): Promise<{ end: Date }> {
  const end = new Date(Date.UTC(2017, 0, 1));
  const start = new Date(end.getTime() - days * 24 * hourMs);
  await sql`INSERT INTO sites (site_id, timezone) VALUES ('Bench', 'UTC')`;
  await sql`
    INSERT INTO buildings (building_id, site_id, timezone)
    SELECT 'Bench_b' || b, 'Bench', 'UTC' FROM generate_series(0, ${meters - 1}::int) b`;
  await sql`
    INSERT INTO energy_meters (meter_id, building_id, meter_type, unit)
    SELECT 'Bench_b' || m || ':electricity', 'Bench_b' || m, 'electricity', 'kWh'
    FROM generate_series(0, ${meters - 1}::int) m`;
  await sql`SELECT eaio_ensure_partitions(${start}::timestamptz, ${end}::timestamptz)`;
  await sql`
    INSERT INTO meter_readings (time, meter_id, building_id, site_id, meter_type, value, unit)
    SELECT t, m.meter_id, m.building_id, 'Bench', 'electricity', random() * 100, 'kWh'
    FROM energy_meters m, generate_series(${start}::timestamptz, ${end}::timestamptz - interval '1 hour', interval '1 hour') t`;
  await sql`ANALYZE meter_readings`;
  return { end };
}

/**
 * The loader a stage like score_anomaly uses: the meters on the assigned partitions, their readings
 * of the last `days` before the latest one, one query, rows as arrays (no object per row).
 */
function meterHistoryLoader(sql: Sql, allMeters: readonly string[], partitionCount: number, days: number) {
  const queryMs: number[] = [];
  const store = new PartitionStateStore<Map<string, MeterHistory>>({
    async load(tps) {
      const started = performance.now();
      const byPartition = new Map<number, Map<string, MeterHistory>>();
      for (const tp of tps) {
        const meters = keysOnPartitions(allMeters, [tp.partition], partitionCount);
        const empty: MeterHistory = { times: new Float64Array(0), values: new Float64Array(0) };
        byPartition.set(tp.partition, new Map(meters.map((m) => [m, empty])));
      }
      const meters = keysOnPartitions(
        allMeters,
        tps.map((tp) => tp.partition),
        partitionCount,
      );
      // No ORDER BY: sorting 168k rows spilled to disk and doubled the query (measured); each
      // meter's rows are put in time order here instead, where they almost always are already.
      const rows = await sql
        .unsafe(
          `SELECT meter_id, (extract(epoch FROM time) * 1000)::float8 AS t, value
           FROM meter_readings
           WHERE meter_id = ANY($1::text[])
             AND time > (SELECT max(time) FROM meter_readings WHERE meter_id = ANY($1::text[])) - $2::interval`,
          [`{${meters.join(',')}}`, `${days} days`],
        )
        .values();
      queryMs.push(performance.now() - started);
      const counts = new Map<string, number>();
      for (const row of rows) counts.set(row[0] as string, (counts.get(row[0] as string) ?? 0) + 1);
      const filling = new Map<string, { times: Float64Array; values: Float64Array; n: number }>();
      for (const [meter, count] of counts)
        filling.set(meter, { times: new Float64Array(count), values: new Float64Array(count), n: 0 });
      for (const row of rows) {
        const f = filling.get(row[0] as string) as { times: Float64Array; values: Float64Array; n: number };
        f.times[f.n] = row[1] as number;
        f.values[f.n] = row[2] as number;
        f.n += 1;
      }
      const partitionOf = new Map<string, Map<string, MeterHistory>>();
      for (const histories of byPartition.values())
        for (const meter of histories.keys()) partitionOf.set(meter, histories);
      for (const [meter, f] of filling) partitionOf.get(meter)?.set(meter, inTimeOrder(f.times, f.values));
      return tps.map((tp) => ({ ...tp, state: byPartition.get(tp.partition) as Map<string, MeterHistory> }));
    },
    empty: () => new Map(),
    size: (histories) => {
      let n = 0;
      for (const h of histories.values()) n += h.times.length;
      return n;
    },
  });
  return { store, queryMs };
}

/** The series sorted by time (a copy only when it is not in order already). */
function inTimeOrder(times: Float64Array, values: Float64Array): MeterHistory {
  let ordered = true;
  for (let i = 1; i < times.length && ordered; i++) ordered = (times[i - 1] as number) <= (times[i] as number);
  if (ordered) return { times, values };
  const order = Array.from(times.keys()).sort((a, b) => (times[a] as number) - (times[b] as number));
  return {
    times: Float64Array.from(order, (i) => times[i] as number),
    values: Float64Array.from(order, (i) => values[i] as number),
  };
}

export async function benchStateRebuild(options: RebuildOptions, databaseUrl: string): Promise<RebuildResult> {
  return withThrowawayDatabase(databaseUrl, async (sql, name) => {
    progress(`migrating ${name}`);
    await migrate(sql);
    progress(`seeding ${options.meters} meters × ${options.days} days of hourly readings`);
    await seed(sql, options.meters, options.days);
    const allMeters = (await sql<{ meter_id: string }[]>`SELECT meter_id FROM energy_meters`).map((r) => r.meter_id);
    const log = pino({ level: 'silent' });
    const ctx: StageContext = { stage: 'bench', log, signal: new AbortController().signal };
    const tps = Array.from({ length: options.assigned }, (_, partition) => ({ topic: 'readings', partition }));
    const rebuildMs: number[] = [];
    let rows = 0;
    const { store, queryMs } = meterHistoryLoader(sql, allMeters, options.partitions, options.days);
    // One untimed run warms the plan cache and the buffer cache, as a member's earlier rebalances do.
    for (let run = 0; run <= options.runs; run++) {
      store.revoke(tps);
      const started = performance.now();
      await store.assign(tps, ctx);
      const ms = performance.now() - started;
      rows = store.lastBuild?.items ?? 0;
      if (run > 0) {
        rebuildMs.push(ms);
        progress(`run ${run}/${options.runs}: ${rows} rows in ${ms.toFixed(0)} ms`);
      } else queryMs.length = 0;
    }
    return { ...options, rows, rebuildMs, queryMs };
  });
}

export function summaryLine(r: RebuildResult): string {
  return [
    `meters=${r.meters}`,
    `days=${r.days}`,
    `rows=${r.rows}`,
    `partitions=${r.assigned}/${r.partitions}`,
    `runs=${r.rebuildMs.length}`,
    `rebuild_ms=${median(r.rebuildMs).toFixed(0)}`,
    `rebuild_ms_max=${Math.max(...r.rebuildMs).toFixed(0)}`,
    `query_ms=${median(r.queryMs).toFixed(0)}`,
  ].join(' ');
}

/** \`eaio bench state-rebuild\`: exit code. */
export async function runStateRebuildCli(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      meters: { type: 'string', default: '1000' },
      days: { type: 'string', default: '7' },
      partitions: { type: 'string', default: '12' },
      assigned: { type: 'string', default: '' },
      runs: { type: 'string', default: '5' },
    },
  });
  const number = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, not ${v}`);
    return n;
  };
  const partitions = number('partitions', values.partitions);
  const options: RebuildOptions = {
    meters: number('meters', values.meters),
    days: number('days', values.days),
    partitions,
    assigned: values.assigned === '' ? partitions : Math.min(partitions, number('assigned', values.assigned)),
    runs: number('runs', values.runs),
  };
  const result = await benchStateRebuild(options, loadEnv().DATABASE_URL);
  process.stdout.write(`${summaryLine(result)}\n`);
  return 0;
}
