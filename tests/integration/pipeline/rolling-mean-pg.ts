/**
 * The rolling-mean test stage's history in PostgreSQL: one row per (meter, time) with the input
 * partition, written by `process` (idempotent upsert) and read back on assignment with one bounded
 * query for all assigned partitions.
 */
import type { Sql } from 'postgres';
import type { HistoryStore, StoredReading } from '../../pipeline/rolling-mean-stage.js';

export class PgHistoryStore implements HistoryStore {
  private constructor(
    private readonly sql: Sql,
    private readonly table: string,
  ) {}

  static async create(sql: Sql, table: string): Promise<PgHistoryStore> {
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`not a plain table name: ${table}`);
    await sql.unsafe(`
      CREATE TABLE ${table} (
        partition integer NOT NULL,
        meter text NOT NULL,
        time bigint NOT NULL,
        value double precision NOT NULL,
        PRIMARY KEY (meter, time)
      )`);
    await sql.unsafe(`CREATE INDEX ${table}_partition_time_idx ON ${table} (partition, time)`);
    return new PgHistoryStore(sql, table);
  }

  async write(readings: readonly StoredReading[]): Promise<void> {
    await this.sql.unsafe(
      `INSERT INTO ${this.table} (partition, meter, time, value)
       SELECT partition, meter, time, value
       FROM json_to_recordset($1::text::json) AS r(partition integer, meter text, time bigint, value double precision)
       ON CONFLICT (meter, time) DO UPDATE SET value = EXCLUDED.value, partition = EXCLUDED.partition`,
      [JSON.stringify(readings)],
    );
  }

  async load(partitions: readonly number[], retentionMs: number): Promise<readonly StoredReading[]> {
    const rows = await this.sql.unsafe<{ partition: number; meter: string; time: string; value: number }[]>(
      `SELECT h.partition, h.meter, h.time::text AS time, h.value
       FROM ${this.table} h
       JOIN (SELECT partition, max(time) AS latest FROM ${this.table}
             WHERE partition = ANY($1::integer[]) GROUP BY partition) l USING (partition)
       WHERE h.time > l.latest - $2::bigint`,
      [`{${partitions.join(',')}}`, String(retentionMs)],
    );
    return rows.map((r) => ({ partition: r.partition, meter: r.meter, time: Number(r.time), value: r.value }));
  }
}
