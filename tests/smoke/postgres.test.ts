import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../config/load.js';

describe('PostgreSQL (local stack)', () => {
  const sql = postgres(loadEnv().DATABASE_URL, { max: 1, connect_timeout: 10, onnotice: () => {} });

  afterAll(async () => {
    await sql.end({ timeout: 5 });
  });

  it('answers PostGIS geometry functions', async () => {
    const [row] = await sql<{ wkt: string }[]>`SELECT ST_AsText(ST_MakePoint(1, 2)) AS wkt`;
    expect(row?.wkt).toBe('POINT(1 2)');
  });

  it('has the postgis extension installed in version 3', async () => {
    const [ext] = await sql<{ extversion: string }[]>`
      SELECT extversion FROM pg_extension WHERE extname = 'postgis'`;
    expect(ext?.extversion).toMatch(/^3\./);
    const [full] = await sql<{ v: string }[]>`SELECT postgis_full_version() AS v`;
    expect(full?.v).toContain('POSTGIS="3.');
  });

  it('is PostgreSQL 15 and lists pg_partman and pg_cron as available', async () => {
    const [ver] = await sql<{ server_version_num: string }[]>`SHOW server_version_num`;
    expect(Number(ver?.server_version_num)).toBeGreaterThanOrEqual(150000);
    const available = await sql<{ name: string }[]>`
      SELECT name FROM pg_available_extensions WHERE name IN ('pg_partman', 'pg_cron') ORDER BY name`;
    expect(available.map((r) => r.name)).toEqual(['pg_cron', 'pg_partman']);
  });
});
