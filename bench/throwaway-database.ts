import { randomBytes } from 'node:crypto';
import postgres, { type Sql } from 'postgres';

/**
 * Runs `use` on a new database (CREATE DATABASE through DATABASE_URL's connection) and drops it
 * afterwards, whatever happens: a benchmark never touches the user's data.
 */
export async function withThrowawayDatabase<T>(
  databaseUrl: string,
  use: (sql: Sql, name: string) => Promise<T>,
): Promise<T> {
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
  const name = `eaio_bench_${randomBytes(5).toString('hex')}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 2, onnotice: () => undefined });
  try {
    return await use(sql, name);
  } finally {
    await sql.end({ timeout: 5 });
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end({ timeout: 5 });
  }
}
