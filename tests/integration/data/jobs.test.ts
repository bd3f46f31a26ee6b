import { execFile } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EAIO_NODE_FLAGS } from '../../../cli/node-flags.js';
import { scheduleJobs } from '../../../jobs/scheduler.js';
import { migrate } from '../../../sql/migrate.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** `eaio jobs run <name>` as a process on the test database: exit code, stdout, stderr. */
async function eaioJobsRun(name: string) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [...EAIO_NODE_FLAGS, 'bin/eaio.mjs', 'jobs', 'run', name],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: db.url }, timeout: 60_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function fields(line: string): Record<string, string> {
  return Object.fromEntries(
    line
      .trim()
      .split(' ')
      .map((pair) => pair.split('=', 2) as [string, string]),
  );
}

const partitions = async () =>
  (
    await db.sql<{ name: string }[]>`
      SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'meter_readings'::regclass ORDER BY 1`
  ).map((p) => p.name);

describe('eaio jobs run aggregate_refresh (plain PostgreSQL path)', () => {
  it('before the migrations: exit 1 and one line that names `eaio migrate`', async () => {
    const run = await eaioJobsRun('aggregate_refresh');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^eaio jobs run aggregate_refresh: .*has `eaio migrate` been run on this database\?$/m);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('creates the missing partitions ahead and refreshes the roll-ups a new reading changed, then has nothing to do', async () => {
    await migrate(db.sql);
    const [path] = await db.sql<{ timescale: boolean }[]>`SELECT eaio_has_timescaledb() AS timescale`;
    expect(path?.timescale).toBe(false);
    await db.sql`INSERT INTO sites (site_id, timezone) VALUES ('Ant', 'US/Eastern')`;
    await db.sql`INSERT INTO buildings (building_id, site_id, timezone) VALUES ('Ant_office_A', 'Ant', 'US/Eastern')`;
    await db.sql`INSERT INTO energy_meters (meter_id, building_id, meter_type, unit) VALUES ('Ant_office_A:electricity', 'Ant_office_A', 'electricity', 'kWh')`;
    await db.sql`SELECT eaio_ensure_partitions('2017-03-12T00:00:00Z', '2017-03-13T00:00:00Z')`;
    await db.sql`
      INSERT INTO meter_readings (time, meter_id, building_id, site_id, meter_type, value, unit)
      VALUES ('2017-03-12T07:00:00Z', 'Ant_office_A:electricity', 'Ant_office_A', 'Ant', 'electricity', 46.2, 'kWh')`;
    // The furthest partition ahead goes missing, as it would a month after the migration.
    const furthest = (await partitions()).at(-1);
    expect(furthest).toMatch(/^meter_readings_p\d{6}$/);
    await db.sql.unsafe(`DROP TABLE ${furthest}`);

    const first = await eaioJobsRun('aggregate_refresh');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim().split('\n')).toHaveLength(1);
    expect(first.stdout).toMatch(
      /^job=aggregate_refresh partitions_created=1 views_refreshed=meter_readings_hourly,meter_readings_daily days_refreshed=1 duration_ms=\d+\n$/,
    );
    expect(await partitions()).toContain(furthest);
    const daily = await db.sql`SELECT bucket, reading_count::int, value_sum FROM meter_readings_daily`;
    expect(daily).toEqual([{ bucket: new Date('2017-03-12T00:00:00Z'), reading_count: 1, value_sum: 46.2 }]);

    const again = fields((await eaioJobsRun('aggregate_refresh')).stdout);
    expect(again).toMatchObject({
      job: 'aggregate_refresh',
      partitions_created: '0',
      views_refreshed: 'none',
      days_refreshed: '0',
    });
  });

  it('runs on its schedule in a worker process (scheduleJobs), and not at all when "off"', async () => {
    const furthest = (await partitions()).at(-1) as string;
    await db.sql.unsafe(`DROP TABLE ${furthest}`);
    const off = scheduleJobs(['aggregate_refresh'], {
      sql: () => db.sql,
      log: pino({ level: 'silent' }),
      source: { EAIO_JOBS_AGGREGATE_REFRESH_CRON: 'off' },
    });
    expect(off.scheduled).toEqual([]);
    await off.stop();
    // The former variable still sets it; every second, so the test need not wait a minute.
    const every = scheduleJobs(['aggregate_refresh'], {
      sql: () => postgres(db.url, { max: 1, onnotice: () => undefined }),
      log: pino({ level: 'silent' }),
      source: { EAIO_WRITER_MAINTENANCE_CRON: '* * * * * *' },
    });
    try {
      expect(every.scheduled).toEqual([{ job: 'aggregate_refresh', schedule: '* * * * * *' }]);
      const deadline = Date.now() + 10_000;
      while (!(await partitions()).includes(furthest) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(await partitions()).toContain(furthest);
    } finally {
      await every.stop();
    }
  });

  it('runs once more when the worker stops, so a short run leaves the roll-ups fresh', async () => {
    const [before] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM meter_readings_daily`;
    await db.sql`
      INSERT INTO meter_readings (time, meter_id, building_id, site_id, meter_type, value, unit)
      VALUES ('2017-03-13T07:00:00Z', 'Ant_office_A:electricity', 'Ant_office_A', 'Ant', 'electricity', 40, 'kWh')`;
    // A schedule that does not fire during the test: only the run at stop can refresh.
    const jobs = scheduleJobs(['aggregate_refresh'], {
      sql: () => postgres(db.url, { max: 1, onnotice: () => undefined }),
      log: pino({ level: 'silent' }),
      source: { EAIO_JOBS_AGGREGATE_REFRESH_CRON: '0 0 1 1 *' },
    });
    const [still] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM meter_readings_daily`;
    expect(still?.n).toBe(before?.n);
    await jobs.stop();
    const [after] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM meter_readings_daily`;
    expect(after?.n).toBe((before?.n ?? 0) + 1);
  });

  it('runNow refreshes between ticks (a worker gone quiet); quietAfterMs comes from EAIO_JOBS_QUIET_AFTER_S', async () => {
    const never = { EAIO_JOBS_AGGREGATE_REFRESH_CRON: '0 0 1 1 *' };
    const silent = pino({ level: 'silent' });
    const off = scheduleJobs(['aggregate_refresh'], {
      sql: () => db.sql,
      log: silent,
      source: { ...never, EAIO_JOBS_QUIET_AFTER_S: '0' },
    });
    expect(off.quietAfterMs).toBeUndefined();
    await off.stop({ finalRun: false });
    const jobs = scheduleJobs(['aggregate_refresh'], {
      sql: () => postgres(db.url, { max: 1, onnotice: () => undefined }),
      log: silent,
      source: never,
    });
    try {
      expect(jobs.quietAfterMs).toBe(5_000);
      await db.sql`
        INSERT INTO meter_readings (time, meter_id, building_id, site_id, meter_type, value, unit)
        VALUES ('2017-03-14T07:00:00Z', 'Ant_office_A:electricity', 'Ant_office_A', 'Ant', 'electricity', 41, 'kWh')`;
      const day = () =>
        db.sql<
          { n: number }[]
        >`SELECT count(*)::int AS n FROM meter_readings_daily WHERE bucket = '2017-03-14T00:00:00Z'`;
      expect((await day())[0]?.n).toBe(0);
      await Promise.all([jobs.runNow(), jobs.runNow()]);
      expect((await day())[0]?.n).toBe(1);
    } finally {
      await jobs.stop({ finalRun: false });
    }
  });

  it('a run at stop that hangs (a database that never answers) gives up after finalRunTimeoutMs, with a warning', async () => {
    // Accepts connections and never answers: postgres.js waits for the server's greeting.
    const silentServer = createServer(() => undefined);
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    const { port } = silentServer.address() as AddressInfo;
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const jobs = scheduleJobs(['aggregate_refresh'], {
      sql: () => postgres(`postgres://eaio:eaio@127.0.0.1:${port}/eaio`, { max: 1, connect_timeout: 60 }),
      log,
      source: { EAIO_JOBS_AGGREGATE_REFRESH_CRON: '0 0 1 1 *' },
      finalRunTimeoutMs: 500,
    });
    const started = Date.now();
    try {
      await jobs.stop();
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(warnings.join('')).toMatch(/the jobs run at stop did not finish in time; the next worker catches up/);
    } finally {
      silentServer.close();
    }
  });

  it('answers to refresh_aggregates too', async () => {
    const run = await eaioJobsRun('refresh_aggregates');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^job=aggregate_refresh /);
  });
});
