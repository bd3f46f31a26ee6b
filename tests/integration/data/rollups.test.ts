import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMaintenance } from '../../../jobs/aggregate-refresh.js';
import { loadMigrationFiles, migrate } from '../../../sql/migrate.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.sql);
  await db.sql`INSERT INTO sites (site_id, timezone) VALUES ('Ant', 'US/Eastern')`;
  await db.sql`INSERT INTO buildings (building_id, site_id, timezone) VALUES ('Ant_office_A', 'Ant', 'US/Eastern')`;
  for (const type of ['electricity', 'chilledwater'])
    await db.sql`INSERT INTO energy_meters (meter_id, building_id, meter_type, unit) VALUES (${`Ant_office_A:${type}`}, 'Ant_office_A', ${type}, 'kWh')`;
  await db.sql`SELECT eaio_ensure_partitions('2016-01-01T00:00:00Z', '2016-02-01T00:00:00Z')`;
});
afterAll(async () => {
  await db?.drop();
});

const METERS = ['electricity', 'chilledwater'] as const;

/** Readings of both meters, every hour of `days` UTC days from 2016-01-10, with a temperature. */
async function insertDays(days: number, hourStep = 1) {
  for (const type of METERS) {
    await db.sql`
      INSERT INTO meter_readings (time, meter_id, building_id, site_id, meter_type, value, unit, air_temperature)
      SELECT t, ${`Ant_office_A:${type}`}, 'Ant_office_A', 'Ant', ${type}, extract(hour FROM t) + ${type === 'electricity' ? 100 : 0}, 'kWh', extract(day FROM t)
      FROM generate_series('2016-01-10T00:00:00Z'::timestamptz, '2016-01-10T00:00:00Z'::timestamptz + make_interval(days => ${days}) - interval '1 hour', make_interval(hours => ${hourStep})) AS t`;
  }
}

/** What each roll-up must hold, computed from scratch from meter_readings. */
async function fromScratch(width: 'hour' | 'day') {
  return db.sql.unsafe(`
    SELECT date_trunc('${width}', time, 'UTC') AS bucket, meter_id, building_id, site_id, meter_type::text, unit,
      count(*)::int AS reading_count, sum(value) AS value_sum, avg(value) AS value_avg, min(value) AS value_min,
      max(value) AS value_max, max(anomaly_score) AS anomaly_score_max, avg(air_temperature) AS air_temperature_avg
    FROM meter_readings GROUP BY 1, meter_id, building_id, site_id, meter_type, unit ORDER BY meter_id, bucket`);
}
async function stored(view: string) {
  return db.sql.unsafe(`
    SELECT bucket, meter_id, building_id, site_id, meter_type::text, unit, reading_count::int, value_sum, value_avg,
      value_min, value_max, anomaly_score_max, air_temperature_avg
    FROM ${view} ORDER BY meter_id, bucket`);
}
async function expectFresh() {
  expect(await stored('meter_readings_hourly')).toEqual(await fromScratch('hour'));
  expect(await stored('meter_readings_daily')).toEqual(await fromScratch('day'));
}

describe('roll-ups on plain PostgreSQL: recomputed per (meter, UTC day) written', () => {
  it('are tables with a unique (meter_id, bucket), maintained only by the refresh', async () => {
    const kinds = await db.sql<{ relname: string; relkind: string }[]>`
      SELECT relname, relkind::text FROM pg_class WHERE relname IN ('meter_readings_hourly', 'meter_readings_daily') ORDER BY 1`;
    expect(kinds).toEqual([
      { relname: 'meter_readings_daily', relkind: 'r' },
      { relname: 'meter_readings_hourly', relkind: 'r' },
    ]);
    const [grant] = await db.sql<{ insert: boolean; select: boolean }[]>`
      SELECT has_table_privilege('eaio_writer', 'meter_readings_daily', 'INSERT') AS insert,
             has_table_privilege('eaio_reader', 'meter_readings_daily', 'SELECT') AS select`;
    expect(grant).toEqual({ insert: false, select: true });
  });

  it('a refresh recomputes exactly the days written since the last one: inserts, corrections and deletes', async () => {
    await insertDays(3);
    expect(await runMaintenance(db.sql)).toMatchObject({ daysRefreshed: 6 });
    await expectFresh();
    expect(await stored('meter_readings_daily')).toHaveLength(6);
    expect(await runMaintenance(db.sql)).toMatchObject({ refreshed: [], daysRefreshed: 0 });

    // A correction of one reading touches one meter's day.
    await db.sql`UPDATE meter_readings SET value = value + 1000, anomaly_score = 0.9
      WHERE meter_id = 'Ant_office_A:electricity' AND time = '2016-01-11T05:00:00Z'`;
    expect(await runMaintenance(db.sql)).toMatchObject({ daysRefreshed: 1 });
    await expectFresh();

    // The writer's upsert (INSERT ... ON CONFLICT DO UPDATE) marks its day as well.
    await db.sql`
      INSERT INTO meter_readings (time, meter_id, building_id, site_id, meter_type, value, unit)
      VALUES ('2016-01-12T23:00:00Z', 'Ant_office_A:chilledwater', 'Ant_office_A', 'Ant', 'chilledwater', -5, 'kWh')
      ON CONFLICT (meter_id, time) DO UPDATE SET value = EXCLUDED.value`;
    expect(await runMaintenance(db.sql)).toMatchObject({ daysRefreshed: 1 });
    await expectFresh();

    // A day emptied by deletes leaves no roll-up rows behind.
    await db.sql`DELETE FROM meter_readings WHERE meter_id = 'Ant_office_A:chilledwater' AND time >= '2016-01-10T00:00:00Z' AND time < '2016-01-11T00:00:00Z'`;
    await db.sql`DELETE FROM meter_readings WHERE meter_id = 'Ant_office_A:electricity' AND time = '2016-01-12T00:00:00Z'`;
    expect(await runMaintenance(db.sql)).toMatchObject({ daysRefreshed: 2 });
    await expectFresh();
    expect(await stored('meter_readings_daily')).toHaveLength(5);
  });

  it('a write still open during a refresh neither waits for it nor is lost: the next refresh includes it', async () => {
    let during: Awaited<ReturnType<typeof runMaintenance>> | undefined;
    await db.sql.begin(async (tx) => {
      await tx`
        INSERT INTO meter_readings (time, meter_id, building_id, site_id, meter_type, value, unit)
        VALUES ('2016-01-20T03:00:00Z', 'Ant_office_A:electricity', 'Ant_office_A', 'Ant', 'electricity', 7, 'kWh')`;
      // Another connection refreshes while this transaction holds its row and its log entry.
      during = await runMaintenance(db.sql);
    });
    expect(during?.daysRefreshed).toBe(0);
    const [missing] =
      await db.sql`SELECT count(*)::int AS n FROM meter_readings_daily WHERE bucket = '2016-01-20T00:00:00Z'`;
    expect(missing?.n).toBe(0);
    expect(await runMaintenance(db.sql)).toMatchObject({ daysRefreshed: 1 });
    await expectFresh();
  });

  it('an UPDATE that moves a reading to another day recomputes the day it left too', async () => {
    await db.sql`UPDATE meter_readings SET time = '2016-01-25T04:00:00Z'
      WHERE meter_id = 'Ant_office_A:electricity' AND time = '2016-01-11T06:00:00Z'`;
    expect(await runMaintenance(db.sql)).toMatchObject({ daysRefreshed: 2 });
    await expectFresh();
  });

  it('force recomputes everything, repairing a roll-up changed behind its back', async () => {
    await db.sql`DELETE FROM meter_readings_hourly WHERE meter_id = 'Ant_office_A:electricity'`;
    await db.sql`UPDATE meter_readings_daily SET value_sum = -1`;
    expect(await runMaintenance(db.sql)).toMatchObject({ daysRefreshed: 0 });
    const repaired = await runMaintenance(db.sql, { force: true });
    expect(repaired.refreshed).toEqual(['meter_readings_hourly', 'meter_readings_daily']);
    await expectFresh();
  });

  it('keeps one row per meter and bucket when its attributes change within the day: the latest ones', async () => {
    await db.sql`INSERT INTO sites (site_id, timezone) VALUES ('Bee', 'US/Eastern')`;
    // The building moved to another site at noon (a re-import): the day's readings disagree on site_id.
    await db.sql`
      INSERT INTO meter_readings (time, meter_id, building_id, site_id, meter_type, value, unit)
      SELECT t, 'Ant_office_A:electricity', 'Ant_office_A', CASE WHEN t < '2016-01-28T12:00:00Z' THEN 'Ant' ELSE 'Bee' END,
             'electricity', 5, 'kWh'
      FROM generate_series('2016-01-28T00:00:00Z'::timestamptz, '2016-01-28T23:00:00Z', interval '1 hour') AS t`;
    expect(await runMaintenance(db.sql)).toMatchObject({ daysRefreshed: 1 });
    const day = await db.sql<{ site_id: string; reading_count: number; value_sum: number }[]>`
      SELECT site_id, reading_count::int, value_sum FROM meter_readings_daily
       WHERE meter_id = 'Ant_office_A:electricity' AND bucket = '2016-01-28T00:00:00Z'`;
    expect(day).toEqual([{ site_id: 'Bee', reading_count: 24, value_sum: 120 }]);
    const hours = await db.sql<{ site_id: string; n: number }[]>`
      SELECT site_id, count(*)::int AS n FROM meter_readings_hourly
       WHERE meter_id = 'Ant_office_A:electricity' AND bucket >= '2016-01-28' AND bucket < '2016-01-29'
       GROUP BY 1 ORDER BY 1`;
    expect(hours).toEqual([
      { site_id: 'Ant', n: 12 },
      { site_id: 'Bee', n: 12 },
    ]);
  });
});

describe('migration 0008 on a database that already holds readings', () => {
  it('the roll-up tables start with what the materialized views would have held', async () => {
    const populated = await createTestDatabase();
    try {
      const files = loadMigrationFiles();
      const before = files.filter((f) => f.file < '0008');
      await migrate(populated.sql, { files: before });
      await populated.sql`INSERT INTO sites (site_id, timezone) VALUES ('Ant', 'US/Eastern')`;
      await populated.sql`INSERT INTO buildings (building_id, site_id, timezone) VALUES ('Ant_office_A', 'Ant', 'US/Eastern')`;
      await populated.sql`INSERT INTO energy_meters (meter_id, building_id, meter_type, unit) VALUES ('Ant_office_A:electricity', 'Ant_office_A', 'electricity', 'kWh')`;
      await populated.sql`SELECT eaio_ensure_partitions('2016-01-01T00:00:00Z', '2016-02-01T00:00:00Z')`;
      await populated.sql`
        INSERT INTO meter_readings (time, meter_id, building_id, site_id, meter_type, value, unit)
        SELECT t, 'Ant_office_A:electricity', 'Ant_office_A', 'Ant', 'electricity', 5, 'kWh'
        FROM generate_series('2016-01-03T00:00:00Z'::timestamptz, '2016-01-04T23:00:00Z', interval '1 hour') t`;
      const applied = await migrate(populated.sql, { files });
      expect(applied.applied.map((a) => a.file.slice(0, 4))).toContain('0008');
      const daily =
        await populated.sql`SELECT bucket, reading_count::int, value_sum FROM meter_readings_daily ORDER BY bucket`;
      expect(daily).toEqual([
        { bucket: new Date('2016-01-03T00:00:00Z'), reading_count: 24, value_sum: 120 },
        { bucket: new Date('2016-01-04T00:00:00Z'), reading_count: 24, value_sum: 120 },
      ]);
      expect(await runMaintenance(populated.sql)).toMatchObject({ daysRefreshed: 0 });
    } finally {
      await populated.drop();
    }
  });
});
