import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMaintenance } from '../../../jobs/aggregate-refresh.js';
import { loadMigrationFiles, MigrationError, migrate, migrationStatus } from '../../../sql/migrate.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('eaio migrate on a fresh database (no TimescaleDB here: partition path)', () => {
  it('two concurrent runs apply every file exactly once; a third run is a no-op', async () => {
    const files = loadMigrationFiles();
    const other = postgres(db.url, { max: 1, onnotice: () => undefined });
    const [a, b] = await Promise.all([migrate(db.sql), migrate(other)]);
    await other.end();
    expect(a.applied.length + b.applied.length).toBe(files.length);
    const again = await migrate(db.sql);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toBe(files.length);
    const status = await migrationStatus(db.sql);
    expect(status.map((s) => s.state)).toEqual(files.map(() => 'applied'));
    const [{ count }] = (await db.sql`SELECT count(*)::int AS count FROM schema_migrations`) as unknown as [
      { count: number },
    ];
    expect(count).toBe(files.length);
  });

  it('refuses to run when an applied migration was edited', async () => {
    const files = loadMigrationFiles().map((f, i) => (i === 1 ? { ...f, checksum: 'edited' } : f));
    await expect(migrate(db.sql, { files })).rejects.toThrow(MigrationError);
    await expect(migrate(db.sql, { files })).rejects.toThrow(/0002_catalog.*append-only/);
  });

  it('meter_readings is partitioned by month; (meter_id, time) cannot hold two rows', async () => {
    const [{ timescale }] = (await db.sql`SELECT eaio_has_timescaledb() AS timescale`) as unknown as [
      { timescale: boolean },
    ];
    expect(timescale).toBe(false);
    await db.sql`INSERT INTO sites (site_id, timezone) VALUES ('Ant', 'US/Eastern')`;
    await db.sql`INSERT INTO buildings (building_id, site_id, timezone) VALUES ('Ant_office_A', 'Ant', 'US/Eastern')`;
    await db.sql`INSERT INTO energy_meters (meter_id, building_id, meter_type, unit) VALUES ('Ant_office_A:electricity', 'Ant_office_A', 'electricity', 'kWh')`;
    const insert = () => db.sql`
      INSERT INTO meter_readings (time, meter_id, building_id, site_id, meter_type, value, unit)
      VALUES ('2017-03-12T07:00:00Z', 'Ant_office_A:electricity', 'Ant_office_A', 'Ant', 'electricity', 46.2, 'kWh')`;
    await expect(insert()).rejects.toMatchObject({ code: '23514' }); // no partition for 2017-03 yet
    const [{ created }] =
      (await db.sql`SELECT eaio_ensure_partitions('2017-03-12T00:00:00Z', '2017-04-02T00:00:00Z') AS created`) as unknown as [
        { created: number },
      ];
    expect(created).toBe(2);
    await insert();
    await expect(insert()).rejects.toMatchObject({ code: '23505' });
    const parts =
      await db.sql`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'meter_readings'::regclass ORDER BY 1`;
    expect(parts.map((p) => p.name)).toContain('meter_readings_p201703');
  });

  it('the roll-ups have the documented columns and are recomputed only when data changed', async () => {
    const columns = await db.sql`
      SELECT attname FROM pg_attribute WHERE attrelid = 'meter_readings_hourly'::regclass AND attnum > 0 ORDER BY attnum`;
    expect(columns.map((c) => c.attname)).toEqual([
      'bucket',
      'meter_id',
      'building_id',
      'site_id',
      'meter_type',
      'unit',
      'reading_count',
      'value_sum',
      'value_avg',
      'value_min',
      'value_max',
      'anomaly_score_max',
      'air_temperature_avg',
    ]);
    const first = await runMaintenance(db.sql);
    expect(first.refreshed).toEqual(['meter_readings_hourly', 'meter_readings_daily']);
    const daily = await db.sql`SELECT bucket, reading_count::int, value_sum FROM meter_readings_daily`;
    expect(daily).toEqual([{ bucket: new Date('2017-03-12T00:00:00Z'), reading_count: 1, value_sum: 46.2 }]);
    expect(first.daysRefreshed).toBe(1);
    expect(await runMaintenance(db.sql)).toMatchObject({ refreshed: [], daysRefreshed: 0 });
  });

  it('roles: the reader can only read, the writer can write data and call the maintenance functions', async () => {
    const host = new URL(db.url);
    const as = (user: string) => {
      const url = new URL(host);
      url.username = user;
      url.password = user;
      return postgres(url.toString(), { max: 1, onnotice: () => undefined });
    };
    const reader = as('eaio_api');
    const writer = as('eaio_pipeline');
    try {
      expect(await reader`SELECT count(*)::int AS n FROM meter_readings_daily`).toEqual([{ n: 1 }]);
      await expect(reader`INSERT INTO stage_offsets VALUES ('g', 't', 0, 1)`).rejects.toMatchObject({ code: '42501' });
      await expect(reader`SELECT * FROM eaio_refresh_aggregates()`).rejects.toMatchObject({ code: '42501' });
      await writer`INSERT INTO stage_offsets (consumer_group, topic, partition, next_offset) VALUES ('g', 't', 0, 1)`;
      await writer`SELECT eaio_ensure_partitions('2016-01-01T00:00:00Z', '2016-01-01T00:00:00Z')`;
      await writer`SELECT * FROM eaio_refresh_aggregates(true)`;
      await expect(writer`CREATE TABLE intruder (a int)`).rejects.toMatchObject({ code: '42501' });
    } finally {
      await reader.end();
      await writer.end();
    }
  });
});
