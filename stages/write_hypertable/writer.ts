/**
 * The PostgreSQL side of write_hypertable: one transaction per batch holds the rows (a plain
 * INSERT, or the idempotent upsert on (meter_id, time) when the batch meets stored readings) and
 * the consumed offsets, so a crash anywhere leaves either both or neither; the stage resumes from
 * the stored offsets, and the table holds every reading exactly once. Each write says how many
 * rows it inserted, updated or left unchanged.
 */
import type { Sql, TransactionSql } from 'postgres';
import type { StoredOffset, TopicPartition } from '../../pipeline/index.js';
import { TransientError } from '../../pipeline/index.js';
import { pgArrayLiteral, pgArrayLiteralOf } from '../shared/pg-array.js';
import { sqlState } from '../shared/pg-errors.js';
import { type AnomalyChanges, type MeterReadingRow, monthsOf, ROW_COLUMNS, type RowColumn } from './rows.js';

const COLUMN_TYPES: Readonly<Record<RowColumn, string>> = {
  time: 'timestamptz',
  meter_id: 'text',
  building_id: 'text',
  site_id: 'text',
  meter_type: 'meter_type',
  value: 'float8',
  unit: 'text',
  quality_code: 'text',
  is_estimated: 'bool',
  anomaly_score: 'real',
  is_anomaly: 'bool',
  air_temperature: 'real',
  cloud_coverage: 'real',
  dew_temperature: 'real',
  precip_depth_1h: 'real',
  sea_level_pressure: 'real',
  wind_direction: 'real',
  wind_speed: 'real',
  source: 'text',
};

const updated = ROW_COLUMNS.filter((c) => c !== 'meter_id' && c !== 'time');

/**
 * Rows as one array parameter per column, unnested on the server: one statement and one round
 * trip per batch whatever its size.
 */
const UNNEST_ROWS = `unnest(${ROW_COLUMNS.map((c, i) => `$${i + 1}::${COLUMN_TYPES[c]}[]`).join(', ')})`;
const INSERT_ROWS = `
  INSERT INTO meter_readings (${ROW_COLUMNS.join(', ')})
  SELECT * FROM ${UNNEST_ROWS}`;

/**
 * The same rows, idempotent on (meter_id, time); an unchanged row is not rewritten (a replayed
 * batch costs the WAL of its failed plain INSERT, not of rewriting every row). Returns how many
 * of the batch's keys were stored before (`stored`, read in the statement's snapshot, so without
 * the batch's own rows) and how many rows it inserted or updated (`written`). Not `xmax = 0` in
 * RETURNING: PostgreSQL 15 refuses system columns there on a partitioned table.
 */
const UPSERT_ROWS = `
  WITH batch AS MATERIALIZED (SELECT * FROM ${UNNEST_ROWS} AS b(${ROW_COLUMNS.join(', ')})),
  stored AS (
    SELECT count(*)::int AS n FROM meter_readings m JOIN batch b ON m.meter_id = b.meter_id AND m.time = b.time),
  written AS (
    INSERT INTO meter_readings (${ROW_COLUMNS.join(', ')})
    SELECT * FROM batch
    ON CONFLICT (meter_id, time) DO UPDATE SET
      ${updated.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, ingested_at = now()
    WHERE (${updated.map((c) => `meter_readings.${c}`).join(', ')}) IS DISTINCT FROM (${updated.map((c) => `EXCLUDED.${c}`).join(', ')})
    RETURNING 1)
  SELECT (SELECT n FROM stored) AS stored, (SELECT count(*)::int FROM written) AS written`;

/**
 * Named prepared statements (postgres.js `unsafe` defaults to unnamed ones): parsed and planned
 * once per connection instead of once per batch, and no describe round trip before each bind.
 */
const PREPARED = { prepare: true } as const;

/** Offsets only move forward: a late, smaller batch (one-by-one isolation) must not move them back. */
const UPSERT_OFFSETS = `
  INSERT INTO stage_offsets (consumer_group, topic, partition, next_offset)
  SELECT $1, topic, partition, next_offset FROM unnest($2::text[], $3::integer[], $4::bigint[]) AS o(topic, partition, next_offset)
  ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
    next_offset = GREATEST(stage_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()`;

/** Flagged readings: latest wins, like meter_readings (a replay rewrites the same row). */
const UPSERT_ANOMALIES = `
  INSERT INTO anomalies (meter_id, time, building_id, site_id, meter_type, value, expected_value, anomaly_score,
    confidence, cold_start, model_version, features)
  SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::meter_type[], $6::float8[],
    $7::float8[], $8::real[], $9::real[], $10::bool[], $11::text[], $12::jsonb[])
  ON CONFLICT (meter_id, time) DO UPDATE SET
    building_id = EXCLUDED.building_id, site_id = EXCLUDED.site_id, meter_type = EXCLUDED.meter_type,
    value = EXCLUDED.value, expected_value = EXCLUDED.expected_value, anomaly_score = EXCLUDED.anomaly_score,
    confidence = EXCLUDED.confidence, cold_start = EXCLUDED.cold_start, model_version = EXCLUDED.model_version,
    features = EXCLUDED.features, detected_at = now()`;

/** Readings whose latest version is not flagged lose their row. */
const DELETE_ANOMALIES = `
  DELETE FROM anomalies a USING unnest($1::text[], $2::timestamptz[]) AS k(meter_id, time)
   WHERE a.meter_id = k.meter_id AND a.time = k.time`;

const NO_ANOMALIES: AnomalyChanges = { flagged: [], cleared: [] };

/**
 * New readings, the normal case, go in by plain INSERT: ON CONFLICT's speculative insertion costs
 * the server about a fifth more CPU per row (measured on the local stack). A batch that meets a
 * stored reading (a replay, a corrected reading) fails as a whole with a unique violation and is
 * written again by the upsert; the following batches then go straight to the upsert for a while,
 * since replays come in runs.
 */
const UPSERT_AFTER_CONFLICT_MS = 60_000;

/**
 * From the upsert's figures. A key stored by another writer between the statement's snapshot and
 * its insert (two writers on one meter, which partitioning by meter avoids) counts as inserted.
 */
function upsertCounts(rows: number, { stored, written }: UpsertFigures): WriteCounts {
  const inserted = Math.max(0, rows - stored);
  const updated = Math.max(0, written - inserted);
  return { inserted, updated, unchanged: rows - inserted - updated };
}

interface UpsertFigures {
  readonly stored: number;
  readonly written: number;
}

const isUniqueViolation = (error: unknown): boolean => sqlState(error) === '23505';

/** A row for a month without partition (created meanwhile by nobody, or dropped by retention). */
export function isMissingPartition(error: unknown): boolean {
  return sqlState(error) === '23514' && /no partition of relation/.test((error as Error).message);
}

/**
 * One array literal per column. A column that is NULL in every row (e.g. anomaly_score before
 * scoring runs) is sent as a NULL array: a multi-argument unnest pads the shorter arrays with
 * NULLs, so the rows are the same with fewer bytes to build, send and parse.
 */
export function columnParameters(rows: readonly MeterReadingRow[]): (string | null)[] {
  // One pass per column straight into its literal: no per-column array of values in between.
  return ROW_COLUMNS.map((c) => {
    let allNull = true;
    for (const row of rows) {
      if (row[c] !== null) {
        allNull = false;
        break;
      }
    }
    return allNull ? null : pgArrayLiteralOf(rows, c);
  });
}

/**
 * What a committed batch did to meter_readings: rows new to the table, rows whose stored version
 * it replaced, and rows equal to the stored one (left as they were). The upsert tells them apart
 * by counting the batch's keys already stored (`xmax` cannot be returned from a partitioned
 * table in PostgreSQL 15).
 */
export interface WriteCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
}

export interface WriterHooks {
  /** Fault injection for tests: runs inside the transaction after the rows, before the offsets. */
  readonly afterRows?: (tx: TransactionSql) => Promise<void>;
}

export class HypertableWriter {
  /** Months whose partition is known to exist (`YYYY-MM`), so most batches skip the check. */
  private readonly readyMonths = new Set<string>();
  /** Until when batches skip the plain INSERT (a recent batch met stored readings). */
  private upsertUntil = 0;

  constructor(
    private readonly sql: Sql,
    /** Key of this writer's offsets in `stage_offsets` (its consumer group). */
    readonly group: string,
    private readonly hooks: WriterHooks = {},
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * `anomalies`: the batch's flagged readings are stored with their rows; readings no longer
   * flagged lose theirs on the upsert path only, since a batch that inserts plainly met no stored
   * reading, and a stored anomaly always has its stored reading.
   */
  async write(
    rows: readonly MeterReadingRow[],
    offsets: readonly StoredOffset[],
    anomalies: AnomalyChanges = NO_ANOMALIES,
  ): Promise<WriteCounts> {
    await this.ensurePartitions(rows);
    const parameters = rows.length > 0 ? columnParameters(rows) : undefined;
    const inserted = { ...anomalies, cleared: [] };
    try {
      if (parameters === undefined || this.now() < this.upsertUntil)
        return upsertCounts(rows.length, await this.transaction(UPSERT_ROWS, parameters, offsets, anomalies));
      try {
        await this.transaction(INSERT_ROWS, parameters, offsets, inserted);
        return { inserted: rows.length, updated: 0, unchanged: 0 };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        this.upsertUntil = this.now() + UPSERT_AFTER_CONFLICT_MS;
        return upsertCounts(rows.length, await this.transaction(UPSERT_ROWS, parameters, offsets, anomalies));
      }
    } catch (error) {
      if (!isMissingPartition(error)) throw error;
      // The month cache was wrong (a partition was dropped): forget it and let the retry create it.
      this.readyMonths.clear();
      throw new TransientError('meter_readings partition missing; retrying after creating it', 'partition_missing', {
        cause: error,
      });
    }
  }

  /** Whether the next batch starts with the plain INSERT (exposed for tests). */
  get insertsPlainly(): boolean {
    return this.now() >= this.upsertUntil;
  }

  private async transaction(
    statement: string,
    parameters: (string | null)[] | undefined,
    offsets: readonly StoredOffset[],
    anomalies: AnomalyChanges,
  ): Promise<UpsertFigures> {
    return this.sql.begin(async (tx) => {
      const figures = parameters === undefined ? [] : await tx.unsafe<UpsertFigures[]>(statement, parameters, PREPARED);
      await this.writeAnomalies(tx, anomalies);
      await this.hooks.afterRows?.(tx);
      await this.upsertOffsets(tx, offsets);
      return figures[0] ?? { stored: 0, written: 0 };
    });
  }

  async storedOffsets(partitions: readonly TopicPartition[]): Promise<StoredOffset[]> {
    if (partitions.length === 0) return [];
    const topics = pgArrayLiteral([...new Set(partitions.map((p) => p.topic))]);
    const rows = await this.sql.unsafe<{ topic: string; partition: number; next_offset: string }[]>(
      'SELECT topic, partition, next_offset::text AS next_offset FROM stage_offsets WHERE consumer_group = $1 AND topic = ANY($2::text[])',
      [this.group, topics],
    );
    const wanted = new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
    return rows
      .filter((r) => wanted.has(`${r.topic}\u0000${r.partition}`))
      .map((r) => ({ topic: r.topic, partition: r.partition, offset: r.next_offset }));
  }

  /**
   * Without TimescaleDB, meter_readings has one partition per month and no default partition.
   * Created outside the batch transaction (eaio_ensure_partitions serialises concurrent callers
   * with an advisory lock and is a no-op on TimescaleDB), so the batch never holds that lock.
   */
  private async ensurePartitions(rows: readonly MeterReadingRow[]): Promise<void> {
    const missing = monthsOf(rows).filter((m) => !this.readyMonths.has(m));
    const first = missing[0];
    const last = missing[missing.length - 1];
    if (first === undefined || last === undefined) return;
    await this
      .sql`SELECT eaio_ensure_partitions(${`${first}-01T00:00:00Z`}::timestamptz, ${`${last}-01T00:00:00Z`}::timestamptz)`;
    for (const month of missing) this.readyMonths.add(month);
  }

  private async writeAnomalies(tx: TransactionSql, { flagged, cleared }: AnomalyChanges): Promise<void> {
    if (cleared.length > 0)
      await tx.unsafe(
        DELETE_ANOMALIES,
        [pgArrayLiteral(cleared.map((c) => c.meter_id)), pgArrayLiteral(cleared.map((c) => c.time))],
        PREPARED,
      );
    if (flagged.length === 0) return;
    const column = <K extends keyof (typeof flagged)[number]>(key: K) => pgArrayLiteral(flagged.map((a) => a[key]));
    await tx.unsafe(
      UPSERT_ANOMALIES,
      [
        column('meter_id'),
        column('time'),
        column('building_id'),
        column('site_id'),
        column('meter_type'),
        column('value'),
        column('expected_value'),
        column('anomaly_score'),
        column('confidence'),
        column('cold_start'),
        column('model_version'),
        column('features'),
      ],
      PREPARED,
    );
  }

  private async upsertOffsets(tx: TransactionSql, offsets: readonly StoredOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await tx.unsafe(
      UPSERT_OFFSETS,
      [
        this.group,
        pgArrayLiteral(offsets.map((o) => o.topic)),
        pgArrayLiteral(offsets.map((o) => o.partition)),
        pgArrayLiteral(offsets.map((o) => o.offset)),
      ],
      PREPARED,
    );
  }
}
