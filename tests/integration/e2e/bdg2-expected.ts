/**
 * What the pipeline must make of a BDG2 folder, computed independently of the replay code: the
 * CSV files are split by hand and local time is converted with Intl, so a bug in
 * sources/bdg2 (time zones, empty cells, column mapping) shows up as a mismatch instead of being
 * copied into the expectation. Only metadata.csv goes through the project's parser (it is
 * tested on its own and only gives each building its site and time zone).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMetadata } from '../../../sources/bdg2/metadata.js';

const HOUR_MS = 3_600_000;

/** The weather columns of meter_readings, with the weather.csv column each comes from. */
export const WEATHER_COLUMNS = {
  air_temperature: 'airTemperature',
  cloud_coverage: 'cloudCoverage',
  dew_temperature: 'dewTemperature',
  precip_depth_1h: 'precipDepth1HR',
  sea_level_pressure: 'seaLvlPressure',
  wind_direction: 'windDirection',
  wind_speed: 'windSpeed',
} as const;
export type WeatherColumn = keyof typeof WEATHER_COLUMNS;
export type WeatherValues = Record<WeatherColumn, number | null>;

export interface ExpectedReading {
  readonly meterId: string;
  readonly siteId: string;
  /** ISO-8601 UTC. */
  readonly time: string;
  /** The cell as a number; BDG2 is already in kWh / L, so normalisation keeps it unchanged. */
  readonly value: number;
  readonly unit: 'kWh' | 'L';
  /** The as-of observation (latest at or before `time`, within the tolerance), or null. */
  readonly weather: WeatherValues | null;
}

export interface Expected {
  /** Keyed by `meterId@time`. */
  readonly readings: ReadonlyMap<string, ExpectedReading>;
  /** Non-empty cells at a local time that does not exist (spring-forward): replay drops and counts them. */
  readonly nonexistentLocalTime: number;
  /** Non-empty cells in all files. */
  readonly cells: number;
}

export const readingKey = (meterId: string, time: string | Date | number) =>
  `${meterId}@${new Date(time).toISOString()}`;

const METER_UNITS: Record<string, 'kWh' | 'L'> = {
  electricity: 'kWh',
  chilledwater: 'kWh',
  steam: 'kWh',
  hotwater: 'kWh',
  gas: 'kWh',
  solar: 'kWh',
  water: 'L',
  irrigation: 'L',
};

function csvRows(path: string): string[][] {
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((line) => line !== '')
    .map((line) => line.split(','));
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(utcMs: number, zone: string): string {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('sv-SE', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(zone, f);
  }
  return f.format(new Date(utcMs));
}

const utcCache = new Map<string, number | undefined>();
/**
 * The first UTC instant whose wall clock in `zone` reads `local` ("YYYY-MM-DD HH:MM:SS"), or
 * undefined when that local time does not exist. Tries every whole-hour offset from −14 h to +14 h.
 */
export function localToUtcIndependent(local: string, zone: string): number | undefined {
  const key = `${zone}|${local}`;
  if (utcCache.has(key)) return utcCache.get(key);
  const asUtc = Date.parse(`${local.replace(' ', 'T')}Z`);
  let found: number | undefined;
  for (let offsetHours = 14; offsetHours >= -14; offsetHours--) {
    const candidate = asUtc - offsetHours * HOUR_MS;
    if (wallClock(candidate, zone) === local) {
      found = candidate;
      break;
    }
  }
  utcCache.set(key, found);
  return found;
}

function readWeather(dir: string, zones: ReadonlyMap<string, string>): Map<string, Map<number, WeatherValues>> {
  const [header, ...rows] = csvRows(join(dir, 'weather.csv'));
  const index = (name: string) => header?.indexOf(name) ?? -1;
  const bySite = new Map<string, Map<number, WeatherValues>>();
  for (const row of rows) {
    const site = row[index('site_id')] as string;
    const zone = zones.get(site);
    const utc = zone === undefined ? undefined : localToUtcIndependent(row[0] as string, zone);
    if (utc === undefined) continue;
    const values = Object.fromEntries(
      Object.entries(WEATHER_COLUMNS).map(([column, source]) => {
        const cell = row[index(source)] ?? '';
        return [column, cell === '' ? null : Number(cell)];
      }),
    ) as WeatherValues;
    const series = bySite.get(site) ?? new Map<number, WeatherValues>();
    bySite.set(site, series);
    if (!series.has(utc)) series.set(utc, values);
  }
  return bySite;
}

function asOf(series: Map<number, WeatherValues> | undefined, utc: number, toleranceMs: number): WeatherValues | null {
  if (!series) return null;
  for (let t = utc; t >= utc - toleranceMs; t -= HOUR_MS) {
    const hit = series.get(t);
    if (hit) return hit;
  }
  return null;
}

export function expectedFromBdg2(
  dir: string,
  variant: 'cleaned' | 'raw',
  options: { toleranceHours: number } = { toleranceHours: 3 },
): Expected {
  const metadataPath = join(dir, 'metadata.csv');
  const metadata = parseMetadata(readFileSync(metadataPath, 'utf8'), metadataPath);
  const buildings = new Map(metadata.buildings.map((b) => [b.building_id, b]));
  const siteZones = new Map(metadata.sites.map((s) => [s.site_id, s.timezone]));
  const weather = readWeather(dir, siteZones);
  const readings = new Map<string, ExpectedReading>();
  let nonexistentLocalTime = 0;
  let cells = 0;
  for (const [type, unit] of Object.entries(METER_UNITS)) {
    const path = join(dir, 'meters', variant, variant === 'cleaned' ? `${type}_cleaned.csv` : `${type}.csv`);
    let rows: string[][];
    try {
      rows = csvRows(path);
    } catch {
      continue;
    }
    const [header, ...body] = rows;
    for (const row of body) {
      row.forEach((cell, i) => {
        if (i === 0 || cell === '') return;
        cells++;
        const buildingId = header?.[i] as string;
        const building = buildings.get(buildingId);
        if (!building) throw new Error(`${path}: building ${buildingId} is not in metadata.csv`);
        const utc = localToUtcIndependent(row[0] as string, building.timezone);
        if (utc === undefined) {
          nonexistentLocalTime++;
          return;
        }
        const meterId = `${buildingId}:${type}`;
        const key = readingKey(meterId, utc);
        if (readings.has(key)) throw new Error(`${path}: two cells map to ${key} (fall-back hour?)`);
        readings.set(key, {
          meterId,
          siteId: building.site_id,
          time: new Date(utc).toISOString(),
          value: Number(cell),
          unit,
          weather: asOf(weather.get(building.site_id), utc, options.toleranceHours * HOUR_MS),
        });
      });
    }
  }
  return { readings, nonexistentLocalTime, cells };
}
