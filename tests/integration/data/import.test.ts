import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { importCommand, writeCatalog } from '../../../cli/commands/import.js';
import { parseMetadata } from '../../../sources/bdg2/metadata.js';
import { migrate } from '../../../sql/migrate.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

const SAMPLE = 'data/bdg2-sample';
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.sql);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await db?.drop();
});

const count = async (table: string) => {
  const [row] = await db.sql.unsafe(`SELECT count(*)::int AS n FROM ${table}`);
  return row?.n as number;
};

describe('eaio import --bdg2 data/bdg2-sample (full BDG2 metadata.csv)', () => {
  it('the command loads all 1,636 buildings, 19 sites and 3,053 meters', async () => {
    const previous = process.env.DATABASE_URL;
    process.env.DATABASE_URL = db.url;
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await importCommand.run(['--bdg2', SAMPLE])).toBe(0);
    } finally {
      process.env.DATABASE_URL = previous;
      vi.restoreAllMocks();
    }
    expect(out.mock.calls.flat()).toEqual([
      'sites: inserted=19 updated=0 unchanged=0',
      'buildings: inserted=1636 updated=0 unchanged=0',
      'energy_meters: inserted=3053 updated=0 unchanged=0',
    ]);
    expect(await count('sites')).toBe(19);
    expect(await count('buildings')).toBe(1636);
    expect(await count('energy_meters')).toBe(3053);
  });

  it('stores enums, numbers, dates and locations', async () => {
    const [karla] = await db.sql`
      SELECT building_use_type::text, site_id, timezone, floor_area_sqm, ST_X(location) AS lng, ST_Y(location) AS lat
      FROM buildings WHERE building_id = 'Panther_office_Karla'`;
    expect(karla).toMatchObject({
      building_use_type: 'office',
      site_id: 'Panther',
      timezone: 'US/Eastern',
      floor_area_sqm: 2508.4,
    });
    expect(karla?.lat).toBeCloseTo(28.5177, 3);
    expect(karla?.lng).toBeCloseTo(-81.379, 3);
    const [bobcat] = await db.sql`SELECT timezone, location FROM sites WHERE site_id = 'Bobcat'`;
    expect(bobcat).toEqual({ timezone: 'US/Mountain', location: null });
    const meters =
      await db.sql`SELECT meter_type::text, unit FROM energy_meters WHERE building_id = 'Bobcat_education_Dylan' ORDER BY 1`;
    expect(meters.map((m) => `${m.meter_type}:${m.unit}`)).toContain('solar:kWh');
  });

  it('importing the same file again changes nothing and says so', async () => {
    const [before] = await db.sql`SELECT max(updated_at) AS at FROM buildings`;
    const metadata = parseMetadata(readFileSync(`${SAMPLE}/metadata.csv`, 'utf8'));
    const counts = await writeCatalog(db.sql, metadata);
    expect(counts).toEqual([
      { table: 'sites', inserted: 0, updated: 0, unchanged: 19 },
      { table: 'buildings', inserted: 0, updated: 0, unchanged: 1636 },
      { table: 'energy_meters', inserted: 0, updated: 0, unchanged: 3053 },
    ]);
    expect(await count('buildings')).toBe(1636);
    const [after] = await db.sql`SELECT max(updated_at) AS at FROM buildings`;
    expect(after?.at).toEqual(before?.at);
  });

  it('importing an edited file counts exactly the rows that changed, and prints the counts per table', async () => {
    const edited = parseMetadata(readFileSync(`${SAMPLE}/metadata.csv`, 'utf8'));
    const karla = edited.buildings.find((b) => b.building_id === 'Panther_office_Karla');
    if (!karla) throw new Error('sample lacks Panther_office_Karla');
    const metadata = {
      ...edited,
      buildings: edited.buildings.map((b) => (b === karla ? { ...b, floor_area_sqm: 2600 } : b)),
    };
    // A meter missing from the database is inserted again.
    await db.sql`DELETE FROM energy_meters WHERE meter_id = 'Panther_office_Karla:electricity'`;
    const counts = await writeCatalog(db.sql, metadata);
    expect(counts).toEqual([
      { table: 'sites', inserted: 0, updated: 0, unchanged: 19 },
      { table: 'buildings', inserted: 0, updated: 1, unchanged: 1635 },
      { table: 'energy_meters', inserted: 1, updated: 0, unchanged: 3052 },
    ]);
    const [row] = await db.sql`SELECT floor_area_sqm FROM buildings WHERE building_id = 'Panther_office_Karla'`;
    expect(row?.floor_area_sqm).toBe(2600);

    // Back to the file: the building is updated again, and the command prints the counts.
    const previous = process.env.DATABASE_URL;
    process.env.DATABASE_URL = db.url;
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await importCommand.run(['--bdg2', SAMPLE])).toBe(0);
    } finally {
      process.env.DATABASE_URL = previous;
      vi.restoreAllMocks();
    }
    expect(out.mock.calls.flat()).toEqual([
      'sites: inserted=0 updated=0 unchanged=19',
      'buildings: inserted=0 updated=1 unchanged=1635',
      'energy_meters: inserted=0 updated=0 unchanged=3053',
    ]);
  });

  it('a file with an unknown primaryspaceusage imports nothing and names the value and the mapping', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/eaio-import-');
    const text = readFileSync(`${SAMPLE}/metadata.csv`, 'utf8').replace(
      'Panther,,0.0,Lodging/residential',
      'Panther,,0.0,Spaceport',
    );
    writeFileSync(`${dir}/metadata.csv`, text);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await importCommand.run(['--bdg2', dir])).toBe(1);
    } finally {
      vi.restoreAllMocks();
    }
    const printed = errors.mock.calls.flat().join('\n');
    expect(printed).toMatch(
      /primaryspaceusage "Spaceport" has no building_use_type; add it to USE_TYPE_BY_BDG2 in sources\/bdg2\/metadata.ts/,
    );
    expect(printed).toMatch(/nothing imported/);
  });
});
