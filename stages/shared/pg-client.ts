import postgres, { type Sql } from 'postgres';
import { guardTransactions } from './pg-transactions.js';

/**
 * A small postgres.js pool for one stage; the stage that creates it closes it in `close`. Its
 * transactions are guarded against a server that goes away mid-transaction (pg-transactions.ts).
 */
export function createPgClient(url: string, options: { max: number; applicationName: string }): Sql {
  return guardTransactions(
    postgres(url, {
      max: options.max,
      idle_timeout: 30,
      connect_timeout: 10,
      // NOTICEs (e.g. "relation already exists, skipping") are not worth a log line per batch.
      onnotice: () => undefined,
      connection: { application_name: options.applicationName },
    }),
  );
}
