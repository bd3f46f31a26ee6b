import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres, { type Sql } from 'postgres';
import { loadEnv } from '../../config/load.js';
import { errorMessage } from '../../pipeline/index.js';
import { type Metadata, MetadataFileError, parseMetadata } from '../../sources/bdg2/metadata.js';
import { asPostgresUnreachable } from '../../stages/shared/pg-wait.js';
import { type Command, UsageError } from '../command.js';

const usage = `Usage: eaio import --bdg2 DIR [--skip-invalid] [--dry-run]

Loads BDG2 DIR/metadata.csv into sites, buildings and energy_meters (one meter per building and
"Yes" meter column). Upserts: importing again updates changed rows in place and leaves the
others alone, never duplicating them; each table's line counts inserted, updated and unchanged
rows. All rows are written in one transaction. Run \`eaio migrate\` first.

Options:
  --bdg2 DIR       folder holding BDG2 metadata.csv (e.g. data/bdg2-sample)
  --skip-invalid   import the valid buildings even if some rows are rejected (default: import nothing)
  --dry-run        parse and report, write nothing

Examples:
  eaio import --bdg2 data/bdg2-sample
  eaio import --bdg2 ~/bdg2/data/metadata --dry-run`;

interface ImportArgs {
  dir: string;
  skipInvalid: boolean;
  dryRun: boolean;
}

function parseArgs(argv: readonly string[]): ImportArgs {
  let dir: string | undefined;
  let skipInvalid = false;
  let dryRun = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--bdg2') {
      dir = argv[++i];
      if (!dir) throw new UsageError('--bdg2 needs a folder');
    } else if (arg === '--skip-invalid') skipInvalid = true;
    else if (arg === '--dry-run') dryRun = true;
    else throw new UsageError(`unknown argument "${arg}"`);
  }
  if (!dir) throw new UsageError('missing --bdg2 DIR (the folder with metadata.csv)');
  return { dir, skipInvalid, dryRun };
}

export interface ImportCounts {
  table: 'sites' | 'buildings' | 'energy_meters';
  inserted: number;
  updated: number;
  unchanged: number;
}

const BATCH = 500;

/** Upserts the catalog in one transaction; `onProgress` after each batch. */
export async function writeCatalog(
  sql: Sql,
  metadata: Pick<Metadata, 'sites' | 'buildings' | 'meters'>,
  onProgress: (table: string, done: number, total: number) => void = () => undefined,
): Promise<ImportCounts[]> {
  return sql.begin(async (tx) => {
    const counts: ImportCounts[] = [];
    const run = async (
      table: ImportCounts['table'],
      rows: readonly object[],
      write: (json: postgres.Parameter) => Promise<{ inserted: boolean }[]>,
    ) => {
      const count: ImportCounts = { table, inserted: 0, updated: 0, unchanged: 0 };
      for (let i = 0; i < rows.length; i += BATCH) {
        const batch = rows.slice(i, i + BATCH);
        const result = await write(tx.json(batch as postgres.JSONValue));
        for (const r of result) r.inserted ? count.inserted++ : count.updated++;
        // A row equal to the stored one is skipped by the upsert's WHERE, so RETURNING omits it.
        count.unchanged += batch.length - result.length;
        onProgress(table, Math.min(i + BATCH, rows.length), rows.length);
      }
      counts.push(count);
    };
    // `xmax = 0` is true for a freshly inserted row and false for one the upsert updated; the
    // `IS DISTINCT FROM` guard leaves equal rows (and their updated_at) untouched.
    await run(
      'sites',
      metadata.sites,
      (json) => tx<{ inserted: boolean }[]>`
        INSERT INTO sites AS t (site_id, site_id_kaggle, timezone, location)
        SELECT r.site_id, r.site_id_kaggle, r.timezone,
               CASE WHEN r.lat IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(r.lng, r.lat), 4326) END
        FROM jsonb_to_recordset(${json}) AS r(site_id text, site_id_kaggle integer, timezone text, lat double precision, lng double precision)
        ON CONFLICT (site_id) DO UPDATE SET
          site_id_kaggle = excluded.site_id_kaggle, timezone = excluded.timezone, location = excluded.location, updated_at = now()
        WHERE (t.site_id_kaggle, t.timezone, t.location) IS DISTINCT FROM (excluded.site_id_kaggle, excluded.timezone, excluded.location)
        RETURNING (xmax = 0) AS inserted`,
    );
    await run(
      'buildings',
      metadata.buildings,
      (json) => tx<{ inserted: boolean }[]>`
        INSERT INTO buildings AS t (building_id, site_id, building_id_kaggle, building_use_type, sub_primary_space_use,
          industry_type, sub_industry, floor_area_sqm, floor_area_sqft, year_built, date_opened, number_of_floors,
          occupants, energy_star_score, eui, site_eui, source_eui, heating_type, leed_level, rating, timezone, location)
        SELECT r.building_id, r.site_id, r.building_id_kaggle, r.building_use_type, r.sub_primary_space_use,
          r.industry_type, r.sub_industry, r.floor_area_sqm, r.floor_area_sqft, r.year_built, r.date_opened, r.number_of_floors,
          r.occupants, r.energy_star_score, r.eui, r.site_eui, r.source_eui, r.heating_type, r.leed_level, r.rating, r.timezone,
          CASE WHEN r.lat IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(r.lng, r.lat), 4326) END
        FROM jsonb_to_recordset(${json}) AS r(
          building_id text, site_id text, building_id_kaggle integer, building_use_type building_use_type,
          sub_primary_space_use text, industry_type industry_type, sub_industry text, floor_area_sqm double precision,
          floor_area_sqft double precision, year_built smallint, date_opened date, number_of_floors smallint,
          occupants integer, energy_star_score smallint, eui double precision, site_eui double precision,
          source_eui double precision, heating_type text, leed_level text, rating text, timezone text,
          lat double precision, lng double precision)
        ON CONFLICT (building_id) DO UPDATE SET
          site_id = excluded.site_id, building_id_kaggle = excluded.building_id_kaggle,
          building_use_type = excluded.building_use_type, sub_primary_space_use = excluded.sub_primary_space_use,
          industry_type = excluded.industry_type, sub_industry = excluded.sub_industry,
          floor_area_sqm = excluded.floor_area_sqm, floor_area_sqft = excluded.floor_area_sqft,
          year_built = excluded.year_built, date_opened = excluded.date_opened,
          number_of_floors = excluded.number_of_floors, occupants = excluded.occupants,
          energy_star_score = excluded.energy_star_score, eui = excluded.eui, site_eui = excluded.site_eui,
          source_eui = excluded.source_eui, heating_type = excluded.heating_type, leed_level = excluded.leed_level,
          rating = excluded.rating, timezone = excluded.timezone, location = excluded.location, updated_at = now()
        WHERE (t.site_id, t.building_id_kaggle, t.building_use_type, t.sub_primary_space_use, t.industry_type,
               t.sub_industry, t.floor_area_sqm, t.floor_area_sqft, t.year_built, t.date_opened, t.number_of_floors,
               t.occupants, t.energy_star_score, t.eui, t.site_eui, t.source_eui, t.heating_type, t.leed_level,
               t.rating, t.timezone, t.location)
          IS DISTINCT FROM (excluded.site_id, excluded.building_id_kaggle, excluded.building_use_type,
               excluded.sub_primary_space_use, excluded.industry_type, excluded.sub_industry, excluded.floor_area_sqm,
               excluded.floor_area_sqft, excluded.year_built, excluded.date_opened, excluded.number_of_floors,
               excluded.occupants, excluded.energy_star_score, excluded.eui, excluded.site_eui, excluded.source_eui,
               excluded.heating_type, excluded.leed_level, excluded.rating, excluded.timezone, excluded.location)
        RETURNING (xmax = 0) AS inserted`,
    );
    await run(
      'energy_meters',
      metadata.meters,
      (json) => tx<{ inserted: boolean }[]>`
        INSERT INTO energy_meters AS t (meter_id, building_id, meter_type, unit)
        SELECT r.meter_id, r.building_id, r.meter_type, r.unit
        FROM jsonb_to_recordset(${json}) AS r(meter_id text, building_id text, meter_type meter_type, unit text)
        ON CONFLICT (meter_id) DO UPDATE SET unit = excluded.unit, updated_at = now()
        WHERE t.unit IS DISTINCT FROM excluded.unit
        RETURNING (xmax = 0) AS inserted`,
    );
    return counts;
  });
}

export const importCommand: Command = {
  name: 'import',
  summary: 'load BDG2 metadata.csv into sites, buildings and meters (idempotent)',
  usage,
  async run(argv) {
    const args = parseArgs(argv);
    const file = join(args.dir, 'metadata.csv');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new UsageError(`cannot read ${file} — --bdg2 must be the folder that holds BDG2 metadata.csv`);
    }
    let metadata: Metadata;
    try {
      metadata = parseMetadata(text, file);
    } catch (error) {
      if (error instanceof MetadataFileError) {
        console.error(`eaio import: ${error.message}`);
        return 1;
      }
      throw error;
    }
    for (const problem of metadata.problems) console.error(`rejected: ${problem}`);
    console.error(
      `parsed ${file}: ${metadata.sites.length} sites, ${metadata.buildings.length} buildings, ${metadata.meters.length} meters` +
        (metadata.problems.length ? `, ${metadata.problems.length} problem(s)` : ''),
    );
    if (metadata.problems.length > 0 && !args.skipInvalid) {
      console.error('nothing imported: fix the rows above, or pass --skip-invalid to import the valid ones');
      return 1;
    }
    if (args.dryRun) return 0;

    const env = loadEnv();
    const sql = postgres(env.DATABASE_URL, { max: 1, onnotice: () => undefined, connect_timeout: 10 });
    try {
      const counts = await writeCatalog(sql, metadata, (table, done, total) => {
        process.stderr.write(`  ${table.padEnd(13)} ${done}/${total}\n`);
      });
      for (const c of counts)
        console.log(`${c.table}: inserted=${c.inserted} updated=${c.updated} unchanged=${c.unchanged}`);
      return 0;
    } catch (error) {
      const unreachable = asPostgresUnreachable(error, sql);
      if (unreachable) throw unreachable;
      const code = (error as { code?: string }).code;
      if (code === '42P01' || code === '42704') {
        console.error(`eaio import: ${(error as Error).message} — has \`eaio migrate\` been run on this database?`);
      } else {
        console.error(`eaio import: ${errorMessage(error)}`);
      }
      return 1;
    } finally {
      await sql.end({ timeout: 5 });
    }
  },
};
