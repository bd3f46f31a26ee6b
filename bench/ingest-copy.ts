/**
 * The ceiling of the ingest benchmark: the rows the pipeline wrote, exported once (not timed) and
 * loaded with one `COPY` into an empty table shaped like `meter_readings` (same columns, indexes
 * and primary key; same monthly partitions when the table is partitioned; the same foreign keys,
 * added after `LIKE`, which does not copy them). What the database can absorb with no Kafka, no
 * JSON, no upsert.
 */

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres, { type Sql } from 'postgres';
import { settleIo } from './settle-io.js';

const COPY_TABLE = 'meter_readings_copy_bench';

export interface CopyFigure {
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  /** Every COPY run, in order; the figure is their median. */
  readonly runSeconds: readonly number[];
}

/**
 * On a connection of its own that is closed afterwards: with postgres.js 3, the next query on a
 * connection that served a `COPY … TO STDOUT` readable never completes (seen on the local stack).
 */
async function exportRows(url: string, columns: string): Promise<Buffer> {
  const exporter = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const chunks: Buffer[] = [];
    const readable = await exporter.unsafe(`COPY (SELECT ${columns} FROM meter_readings) TO STDOUT`).readable();
    for await (const chunk of readable) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  } finally {
    await exporter.end({ timeout: 1 });
  }
}

async function createEmptyCopy(sql: Sql): Promise<void> {
  await sql.unsafe(`DROP TABLE IF EXISTS ${COPY_TABLE}`);
  await createEmptyShape(sql);
  const foreignKeys = await sql<{ definition: string }[]>`
    SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
     WHERE conrelid = 'meter_readings'::regclass AND contype = 'f'`;
  for (const fk of foreignKeys) await sql.unsafe(`ALTER TABLE ${COPY_TABLE} ADD ${fk.definition}`);
}

async function createEmptyShape(sql: Sql): Promise<void> {
  const [kind] = await sql<{ relkind: string }[]>`SELECT relkind FROM pg_class WHERE oid = 'meter_readings'::regclass`;
  if (kind?.relkind !== 'p') {
    await sql.unsafe(`CREATE TABLE ${COPY_TABLE} (LIKE meter_readings INCLUDING ALL)`);
    return;
  }
  await sql.unsafe(`CREATE TABLE ${COPY_TABLE} (LIKE meter_readings INCLUDING ALL) PARTITION BY RANGE (time)`);
  const partitions = await sql<{ name: string; bound: string }[]>`
    SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'meter_readings'::regclass`;
  for (const p of partitions) await sql.unsafe(`CREATE TABLE ${p.name}_copy PARTITION OF ${COPY_TABLE} ${p.bound}`);
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** COPY runs per measurement; the median is the figure (one sub-second COPY is noisy here). */
const COPY_RUNS = 3;

/** Exports meter_readings, then times COPY of those rows into an empty copy of the table (median of 3). */
export async function copyCeiling(sql: Sql, url: string): Promise<CopyFigure> {
  const columns = (
    await sql<{ column_name: string }[]>`
      SELECT column_name FROM information_schema.columns
       WHERE table_name = 'meter_readings' AND table_schema = current_schema() ORDER BY ordinal_position`
  )
    .map((c) => c.column_name)
    .join(', ');
  const data = await exportRows(url, columns);
  const runs: { rows: number; seconds: number }[] = [];
  for (let i = 0; i < COPY_RUNS; i++) {
    await createEmptyCopy(sql);
    await settleIo(sql);
    const started = performance.now();
    const writable = await sql.unsafe(`COPY ${COPY_TABLE} (${columns}) FROM STDIN`).writable();
    await pipeline(Readable.from([data]), writable);
    const seconds = (performance.now() - started) / 1000;
    const [count] = await sql.unsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${COPY_TABLE}`);
    runs.push({ rows: count?.n ?? 0, seconds });
  }
  const rows = median(runs.map((r) => r.rows));
  const seconds = median(runs.map((r) => r.seconds));
  return {
    rows,
    seconds,
    rowsPerSecond: rows / seconds,
    runSeconds: runs.map((r) => r.seconds),
  };
}
