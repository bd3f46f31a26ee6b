import { meterId } from '../../domain/ids.js';
import { METER_TYPE_SPECS, METER_TYPES, type MeterType } from '../../domain/meter-types.js';
import { remember } from '../../domain/remember.js';
import { parseCsv, toObjects } from './csv.js';

/**
 * BDG2 `metadata.csv` → rows for `sites`, `buildings` and `energy_meters`.
 * Pure: the import command does the I/O. Every problem is collected and reported at once.
 */

/** BDG2 `primaryspaceusage` → `building_use_type` (sql/migrations/0002_catalog.sql). All 16 values of the full file. */
export const USE_TYPE_BY_BDG2 = {
  Education: 'education',
  Office: 'office',
  'Lodging/residential': 'lodging_residential',
  'Entertainment/public assembly': 'entertainment_public_assembly',
  'Public services': 'public_services',
  Healthcare: 'healthcare',
  Other: 'other',
  Parking: 'parking',
  'Warehouse/storage': 'warehouse_storage',
  'Manufacturing/industrial': 'manufacturing_industrial',
  Retail: 'retail',
  Services: 'services',
  'Technology/science': 'technology_science',
  'Food sales and service': 'food_sales_and_service',
  Utility: 'utility',
  'Religious worship': 'religious_worship',
} as const;
export type BuildingUseType = (typeof USE_TYPE_BY_BDG2)[keyof typeof USE_TYPE_BY_BDG2];

/** BDG2 `industry` → `industry_type`. */
export const INDUSTRY_BY_BDG2 = {
  Education: 'education',
  Government: 'government',
  Healthcare: 'healthcare',
  Hospitality: 'hospitality',
} as const;
export type IndustryType = (typeof INDUSTRY_BY_BDG2)[keyof typeof INDUSTRY_BY_BDG2];

const MAPPING_FILE = 'sources/bdg2/metadata.ts';

export const REQUIRED_COLUMNS = [
  'building_id',
  'site_id',
  'timezone',
  'primaryspaceusage',
  'sqm',
  'lat',
  'lng',
  ...METER_TYPES,
] as const;

export interface SiteRow {
  site_id: string;
  site_id_kaggle: number | null;
  timezone: string;
  lat: number | null;
  lng: number | null;
}

export interface BuildingRow {
  building_id: string;
  site_id: string;
  building_id_kaggle: number | null;
  building_use_type: BuildingUseType | null;
  sub_primary_space_use: string | null;
  industry_type: IndustryType | null;
  sub_industry: string | null;
  floor_area_sqm: number | null;
  floor_area_sqft: number | null;
  year_built: number | null;
  date_opened: string | null;
  number_of_floors: number | null;
  occupants: number | null;
  energy_star_score: number | null;
  eui: number | null;
  site_eui: number | null;
  source_eui: number | null;
  heating_type: string | null;
  leed_level: string | null;
  rating: string | null;
  timezone: string;
  lat: number | null;
  lng: number | null;
}

export interface MeterRow {
  meter_id: string;
  building_id: string;
  meter_type: MeterType;
  unit: string;
}

export interface Metadata {
  sites: SiteRow[];
  buildings: BuildingRow[];
  meters: MeterRow[];
  /** One line per rejected building, naming the building, the column and the value. */
  problems: string[];
}

/** Thrown for a problem with the file as a whole (not one building). */
export class MetadataFileError extends Error {
  override name = 'MetadataFileError';
}

const text = (v: string | undefined): string | null => (v === undefined || v.trim() === '' ? null : v.trim());

/** A number cell: empty and `-` mean unknown; `1,515` (quoted thousands separator) occurs in `eui`. */
function parseNumber(raw: string | undefined): number | null | Error {
  const v = text(raw);
  if (v === null || v === '-') return null;
  const plain = /^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(v) ? v.replace(/,/g, '') : v;
  const n = Number(plain);
  return Number.isFinite(n) && plain !== '' ? n : new Error(`"${v}" is not a number`);
}

/** BDG2 writes integers as floats (`1989.0`). */
function parseInteger(raw: string | undefined): number | null | Error {
  const n = parseNumber(raw);
  if (n === null || n instanceof Error) return n;
  return Number.isInteger(n) ? n : new Error(`"${raw}" is not a whole number`);
}

/** `date_opened` is M/D/YYYY. */
function parseUsDate(raw: string | undefined): string | null | Error {
  const v = text(raw);
  if (v === null) return null;
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(v);
  if (!m) return new Error(`"${v}" is not a M/D/YYYY date`);
  return `${m[3]}-${m[1]?.padStart(2, '0')}-${m[2]?.padStart(2, '0')}`;
}

/** Remembered: a metadata file names a handful of zones for ~1,600 buildings. */
export const isValidTimeZone: (zone: string) => boolean = remember((zone: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
});

function lookup<T extends Record<string, string>>(map: T, value: string): T[keyof T] | undefined {
  return Object.hasOwn(map, value) ? (map[value as keyof T] as T[keyof T]) : undefined;
}

export function parseMetadata(csvText: string, source = 'metadata.csv'): Metadata {
  const records = parseCsv(csvText);
  const header = records[0] ?? [];
  const missing = REQUIRED_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new MetadataFileError(
      `${source}: missing column(s) ${missing.join(', ')} — is this BDG2 data/metadata/metadata.csv?`,
    );
  }
  const rows = toObjects(records, source);
  const problems: string[] = [];
  const buildings: BuildingRow[] = [];
  const meters: MeterRow[] = [];
  const sites = new Map<string, SiteRow>();
  const seen = new Set<string>();

  for (const [index, row] of rows.entries()) {
    const line = index + 2;
    const id = text(row.building_id);
    const where = `${source} line ${line}${id ? ` (${id})` : ''}`;
    const rowProblems: string[] = [];
    const num = (column: string, parse: typeof parseNumber = parseNumber): number | null => {
      const r = parse(row[column]);
      if (r instanceof Error) {
        rowProblems.push(`${where}: column ${column}: ${r.message}`);
        return null;
      }
      return r;
    };

    const siteId = text(row.site_id);
    const timezone = text(row.timezone);
    if (!id) rowProblems.push(`${where}: building_id is empty`);
    else if (seen.has(id)) rowProblems.push(`${where}: building_id ${id} appears twice`);
    if (!siteId) rowProblems.push(`${where}: site_id is empty`);
    if (!timezone) rowProblems.push(`${where}: timezone is empty`);
    else if (!isValidTimeZone(timezone)) rowProblems.push(`${where}: timezone "${timezone}" is not an IANA time zone`);

    const use = text(row.primaryspaceusage);
    const useType = use === null ? null : lookup(USE_TYPE_BY_BDG2, use);
    if (useType === undefined) {
      rowProblems.push(
        `${where}: primaryspaceusage "${use}" has no building_use_type; add it to USE_TYPE_BY_BDG2 in ${MAPPING_FILE} (and to the enum in a new migration)`,
      );
    }
    const industry = text(row.industry);
    const industryType = industry === null ? null : lookup(INDUSTRY_BY_BDG2, industry);
    if (industryType === undefined) {
      rowProblems.push(
        `${where}: industry "${industry}" has no industry_type; add it to INDUSTRY_BY_BDG2 in ${MAPPING_FILE} (and to the enum in a new migration)`,
      );
    }

    const lat = num('lat');
    const lng = num('lng');
    if ((lat === null) !== (lng === null)) rowProblems.push(`${where}: lat and lng must both be present or both empty`);
    if (lat !== null && (lat < -90 || lat > 90)) rowProblems.push(`${where}: lat ${lat} is outside -90..90`);
    if (lng !== null && (lng < -180 || lng > 180)) rowProblems.push(`${where}: lng ${lng} is outside -180..180`);

    const flags: MeterType[] = [];
    for (const type of METER_TYPES) {
      const flag = text(row[type]);
      if (flag === 'Yes') flags.push(type);
      else if (flag !== null) rowProblems.push(`${where}: column ${type} is "${flag}"; expected "Yes" or empty`);
    }

    const dateOpened = parseUsDate(row.date_opened);
    if (dateOpened instanceof Error) rowProblems.push(`${where}: column date_opened: ${dateOpened.message}`);

    const building: BuildingRow = {
      building_id: id ?? '',
      site_id: siteId ?? '',
      building_id_kaggle: num('building_id_kaggle', parseInteger),
      building_use_type: useType ?? null,
      sub_primary_space_use: text(row.sub_primaryspaceusage),
      industry_type: industryType ?? null,
      sub_industry: text(row.subindustry),
      floor_area_sqm: num('sqm'),
      floor_area_sqft: num('sqft'),
      year_built: num('yearbuilt', parseInteger),
      date_opened: dateOpened instanceof Error ? null : dateOpened,
      number_of_floors: num('numberoffloors', parseInteger),
      occupants: num('occupants', parseInteger),
      energy_star_score: num('energystarscore', parseInteger),
      eui: num('eui'),
      site_eui: num('site_eui'),
      source_eui: num('source_eui'),
      heating_type: text(row.heatingtype),
      leed_level: text(row.leed_level),
      rating: text(row.rating),
      timezone: timezone ?? '',
      lat,
      lng,
    };
    const siteKaggle = num('site_id_kaggle', parseInteger);

    if (rowProblems.length > 0 || !id || !siteId || !timezone) {
      problems.push(...rowProblems);
      continue;
    }
    seen.add(id);
    buildings.push(building);
    for (const type of flags) {
      meters.push({
        meter_id: meterId(id, type),
        building_id: id,
        meter_type: type,
        unit: METER_TYPE_SPECS[type].unit,
      });
    }
    const site = sites.get(siteId);
    if (!site) {
      sites.set(siteId, { site_id: siteId, site_id_kaggle: siteKaggle, timezone, lat, lng });
    } else if (site.timezone !== timezone) {
      problems.push(
        `${where}: timezone ${timezone} differs from ${site.timezone} of other buildings of site ${siteId}`,
      );
    } else {
      // BDG2 repeats the site's coordinates on each building; fill them from any building that has them.
      if (site.lat === null && lat !== null) Object.assign(site, { lat, lng });
      if (site.site_id_kaggle === null && siteKaggle !== null) site.site_id_kaggle = siteKaggle;
    }
  }
  return { sites: [...sites.values()], buildings, meters, problems };
}
