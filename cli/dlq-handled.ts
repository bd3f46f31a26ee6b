/**
 * Which dead letters were already handled (sent back by `eaio dlq replay` or exported for
 * correction by `eaio dlq export --mark`), kept in PostgreSQL's `dlq_handled` (migration 0007):
 * one row per entry, since `--code` and skipped content codes leave gaps a per-partition offset
 * cursor cannot describe.
 */
import type { Sql, TransactionSql } from 'postgres';
import type { DeadLetterView } from '../pipeline/index.js';
import { pgArrayLiteral } from '../stages/shared/pg-array.js';

export type HandledAction = 'replayed' | 'exported';

export interface Handled {
  readonly action: HandledAction;
  readonly handledAt: Date;
  readonly times: number;
}

/** An entry's state as `dlq list` shows it. */
export type EntryState = 'pending' | HandledAction;

interface EntryRef {
  readonly dlqPartition: number;
  readonly dlqOffset: string;
  readonly failedAt: string;
}

const keyOf = (partition: number, offset: string | number | bigint): string => `${partition}@${offset}`;

/** Handled rows of `topic` that belong to the entries now at their offsets (same failure time). */
export async function loadHandled(sql: Sql, topic: string): Promise<Map<string, Handled & { failedAt: string }>> {
  const rows = await sql<
    {
      partition: number;
      dlq_offset: string;
      failed_at: string;
      action: HandledAction;
      handled_at: Date;
      times: number;
    }[]
  >`
    SELECT partition, dlq_offset::text, failed_at, action, handled_at, times FROM dlq_handled WHERE dlq_topic = ${topic}`;
  return new Map(
    rows.map((r) => [
      keyOf(r.partition, r.dlq_offset),
      { action: r.action, handledAt: r.handled_at, times: r.times, failedAt: r.failed_at },
    ]),
  );
}

export function stateOf(entry: EntryRef, handled: ReadonlyMap<string, Handled & { failedAt: string }>): EntryState {
  const row = handled.get(keyOf(entry.dlqPartition, entry.dlqOffset));
  return row && row.failedAt === entry.failedAt ? row.action : 'pending';
}

/**
 * Records `entries` as handled and returns the keys it recorded. Without `again` an entry that is
 * already handled is left as it is and not returned, so of two replays running at once only one
 * gets each entry (the second waits for the first's transaction, then finds the row). A row left
 * by an earlier entry at the same offset (another failure time: the topic was re-created) is
 * taken over.
 */
export async function markHandled(
  sql: Sql | TransactionSql,
  topic: string,
  entries: readonly EntryRef[],
  action: HandledAction,
  again: boolean,
): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const rows = await sql.unsafe<{ partition: number; dlq_offset: string }[]>(
    `INSERT INTO dlq_handled (dlq_topic, partition, dlq_offset, failed_at, action)
     SELECT $1, p, o, f, $5 FROM unnest($2::integer[], $3::bigint[], $4::text[]) AS e(p, o, f)
     ON CONFLICT (dlq_topic, partition, dlq_offset) DO UPDATE SET
       failed_at = EXCLUDED.failed_at, action = EXCLUDED.action, handled_at = now(),
       times = CASE WHEN dlq_handled.failed_at = EXCLUDED.failed_at THEN dlq_handled.times + 1 ELSE 1 END
     WHERE $6::boolean OR dlq_handled.failed_at <> EXCLUDED.failed_at
     RETURNING partition, dlq_offset::text`,
    [
      topic,
      pgArrayLiteral(entries.map((e) => e.dlqPartition)),
      pgArrayLiteral(entries.map((e) => e.dlqOffset)),
      pgArrayLiteral(entries.map((e) => e.failedAt)),
      action,
      again,
    ],
  );
  return new Set(rows.map((r) => keyOf(r.partition, r.dlq_offset)));
}

export const handledKey = (entry: Pick<DeadLetterView, 'dlqPartition' | 'dlqOffset'>): string =>
  keyOf(entry.dlqPartition, entry.dlqOffset);

export interface PartitionRange {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

/**
 * Removes rows of entries no longer in the topic: below a partition's start (deleted by retention)
 * or in a partition gone. Rows at or past the end this command saw stay: a replay running at the
 * same time may have recorded entries written since (failure times tell a re-created topic apart).
 */
export async function pruneHandled(sql: Sql, topic: string, ranges: readonly PartitionRange[]): Promise<void> {
  await sql.unsafe(
    `DELETE FROM dlq_handled h WHERE h.dlq_topic = $1 AND NOT EXISTS (
       SELECT 1 FROM unnest($2::integer[], $3::bigint[]) AS r(p, low)
       WHERE r.p = h.partition AND h.dlq_offset >= r.low)`,
    [topic, pgArrayLiteral(ranges.map((r) => r.partition)), pgArrayLiteral(ranges.map((r) => r.low))],
  );
}

/**
 * Entries of the topic not handled yet, from its offsets and the rows in their ranges, without
 * reading the topic (for `eaio status`). It trusts a row's offset; the dlq commands, which read the
 * entries, also compare failure times.
 */
export async function pendingCount(sql: Sql, topic: string, ranges: readonly PartitionRange[]): Promise<number> {
  const total = ranges.reduce((sum, r) => sum + Number(BigInt(r.high) - BigInt(r.low)), 0);
  if (total === 0) return 0;
  const [row] = await sql.unsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM dlq_handled h
     JOIN unnest($2::integer[], $3::bigint[], $4::bigint[]) AS r(p, low, high)
       ON r.p = h.partition AND h.dlq_offset >= r.low AND h.dlq_offset < r.high
     WHERE h.dlq_topic = $1`,
    [
      topic,
      pgArrayLiteral(ranges.map((r) => r.partition)),
      pgArrayLiteral(ranges.map((r) => r.low)),
      pgArrayLiteral(ranges.map((r) => r.high)),
    ],
  );
  return total - (row?.n ?? 0);
}
