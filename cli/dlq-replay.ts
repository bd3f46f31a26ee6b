/**
 * The sending half of `eaio dlq replay`: dead letters go back to their source topics in batches,
 * and each batch is recorded as replayed in the transaction that waits for its acknowledgement.
 * A failed send rolls its batch's rows back, so it stays pending while the batches acknowledged
 * before it stay recorded; a concurrent replay waits for the rows and skips what they hold.
 */
import type { Sql } from 'postgres';
import { buildReplay, type DeadLetterView, type ProducerPort, type RawRecord } from '../pipeline/index.js';
import { handledKey, markHandled } from './dlq-handled.js';

export interface DeadLetterEntry {
  readonly raw: RawRecord;
  readonly view: DeadLetterView;
}

export interface ReplayProgress {
  /** Sent and acknowledged. */
  readonly sent: number;
  /** Skipped: another replay had recorded them meanwhile. */
  readonly taken: number;
}

export interface SendAndRecordOptions {
  readonly sql: Sql;
  readonly producer: ProducerPort;
  readonly topic: string;
  readonly entries: readonly DeadLetterEntry[];
  /** Send entries already recorded as handled once more. */
  readonly again: boolean;
  readonly batchSize?: number;
  /** Wraps a database error (the caller's one-line rendering). */
  readonly databaseProblem?: (error: unknown) => Error;
  readonly onProgress?: (progress: ReplayProgress) => void;
}

/** Sends `entries` and records them; on a failure it rejects with the progress up to it. */
export async function sendAndRecord(options: SendAndRecordOptions): Promise<ReplayProgress> {
  const { sql, producer, topic, entries, again } = options;
  const batchSize = options.batchSize ?? 500;
  let sent = 0;
  let taken = 0;
  for (let i = 0; i < entries.length; i += batchSize) {
    const batch = entries.slice(i, i + batchSize);
    try {
      const done = await sql.begin(async (tx) => {
        let claimed: Set<string>;
        try {
          claimed = await markHandled(
            tx,
            topic,
            batch.map((e) => e.view),
            'replayed',
            again,
          );
        } catch (error) {
          throw options.databaseProblem ? options.databaseProblem(error) : error;
        }
        const replays = batch.filter((e) => claimed.has(handledKey(e.view))).map((e) => buildReplay(e.raw));
        if (replays.length > 0) await producer.send(replays);
        return { sent: replays.length, taken: batch.length - claimed.size };
      });
      // Counted once committed: a batch whose commit failed is pending, whatever the broker got.
      sent += done.sent;
      taken += done.taken;
    } catch (error) {
      throw new ReplayInterrupted(error, { sent, taken }, entries.length - i);
    }
    options.onProgress?.({ sent, taken });
  }
  return { sent, taken };
}

/** A replay that stopped part-way: what it did before, and how many entries it left pending. */
export class ReplayInterrupted extends Error {
  constructor(
    override readonly cause: unknown,
    readonly progress: ReplayProgress,
    readonly leftPending: number,
  ) {
    super(
      `${cause instanceof Error ? cause.message : String(cause)} — replayed ${progress.sent} before it; ${leftPending} left pending, a new \`eaio dlq replay\` sends them`,
    );
    this.name = 'ReplayInterrupted';
  }
}
