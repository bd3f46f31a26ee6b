/**
 * Before a timed window: write out what earlier steps left dirty (PostgreSQL's shared buffers by a
 * CHECKPOINT, the page cache by `sync`), so that neither the pipeline nor the COPY ceiling pays for
 * the I/O of the setup or of the run before it. Without it the kernel's writeback of a previous
 * run (Kafka segments, WAL, the fresh database) landed in whichever window came next, and the
 * ceiling alone varied from 1.1 s to 1.9 s within one session.
 */
import { spawnSync } from 'node:child_process';
import type { Sql } from 'postgres';

export interface SettleResult {
  /** Why the CHECKPOINT was left out (a role without pg_checkpoint), if it was. */
  readonly checkpointSkipped?: string;
}

export async function settleIo(sql: Sql): Promise<SettleResult> {
  let checkpointSkipped: string | undefined;
  try {
    await sql`CHECKPOINT`;
  } catch (error) {
    checkpointSkipped = (error as Error).message;
  }
  // `sync` flushes every filesystem (Kafka's log dirs are not ours to fsync one by one).
  spawnSync('sync', { stdio: 'ignore' });
  return checkpointSkipped === undefined ? {} : { checkpointSkipped };
}
