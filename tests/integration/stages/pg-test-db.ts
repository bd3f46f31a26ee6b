/**
 * A fresh, migrated database per test file on the local PostgreSQL (DATABASE_URL must be a role
 * allowed to CREATE DATABASE), with a small BDG2-like catalog, dropped again at the end.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import postgres, { type Sql } from 'postgres';
import { Registry } from 'prom-client';
import { loadEnv } from '../../../config/load.js';
import { MemoryBroker, type RunnerOptions, type Stage, StageRunner } from '../../../pipeline/index.js';
import { migrate } from '../../../sql/migrate.js';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly sql: Sql;
  drop(): Promise<void>;
}

export const catalog = {
  sites: ['Panther', 'Rat'],
  meters: ['Panther_office_Karla:electricity', 'Panther_office_Karla:chilledwater', 'Rat_public_Ulysses:electricity'],
} as const;

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = loadEnv().DATABASE_URL;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  const name = `eaio_t_${randomBytes(5).toString('hex')}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 8, onnotice: () => undefined });
  try {
    await migrate(sql);
    await seedCatalog(sql);
  } catch (error) {
    await sql.end();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    throw error;
  }
  return {
    name,
    url: url.toString(),
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

async function seedCatalog(sql: Sql): Promise<void> {
  await sql`INSERT INTO sites (site_id, timezone) VALUES ('Panther', 'US/Eastern'), ('Rat', 'US/Eastern')`;
  await sql`
    INSERT INTO buildings (building_id, site_id, timezone)
    VALUES ('Panther_office_Karla', 'Panther', 'US/Eastern'), ('Rat_public_Ulysses', 'Rat', 'US/Eastern')`;
  await sql`
    INSERT INTO energy_meters (meter_id, building_id, meter_type, unit) VALUES
      ('Panther_office_Karla:electricity', 'Panther_office_Karla', 'electricity', 'kWh'),
      ('Panther_office_Karla:chilledwater', 'Panther_office_Karla', 'chilledwater', 'kWh'),
      ('Rat_public_Ulysses:electricity', 'Rat_public_Ulysses', 'electricity', 'kWh')`;
}

export const naming = { prefix: 't' };

/** The in-memory broker and a runner factory with fast retries and immediate commits. */
// biome-ignore lint/suspicious/noExplicitAny: runners of stages of any record types
type AnyStage = Stage<any, any>;
// biome-ignore lint/suspicious/noExplicitAny: as above
type AnyRunner = StageRunner<any, any>;

export function memoryRuntime(partitions = 2): {
  broker: MemoryBroker;
  run: (stage: AnyStage) => Promise<AnyRunner>;
} {
  const broker = new MemoryBroker({ maxBatchRecords: 100 });
  const options: RunnerOptions = {
    naming,
    topicPartitions: partitions,
    commitIntervalMs: 0,
    random: () => 0,
    retry: { baseMs: 5, capMs: 20, maxAttempts: 5, maxElapsedMs: 30_000 },
  };
  const log = pino({ level: 'silent' });
  return {
    broker,
    async run(stage: AnyStage) {
      const runner = new StageRunner(stage, { broker, log, registry: new Registry() }, options);
      await runner.start();
      return runner;
    },
  };
}

/** Polls until `check` holds (bounded): correctness, not speed. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
