import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { loadEnv } from '../../../config/load.js';

/**
 * A throw-away database per test file (CREATE DATABASE eaio_test_<random> through the superuser
 * connection of DATABASE_URL), so test files and other developers' runs never share state.
 */
export interface TestDatabase {
  readonly url: string;
  readonly sql: postgres.Sql;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = loadEnv().DATABASE_URL;
  const name = `eaio_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 4, onnotice: () => undefined });
  return {
    url: url.toString(),
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    },
  };
}
