import { createReadStream } from 'node:fs';
import { readCsvRecords } from './csv.js';

/**
 * BDG2 `weather.csv` (long format: `timestamp,site_id,airTemperature,…`, local site time). Read as a
 * stream; the caller keeps what it needs (the full file is ≈330k rows, and its order — by site, then
 * time — is not the replay order, so the replay indexes it by hour).
 */
export const WEATHER_COLUMNS = {
  airTemperature: 'air_temperature',
  cloudCoverage: 'cloud_coverage',
  dewTemperature: 'dew_temperature',
  precipDepth1HR: 'precip_depth_1h',
  precipDepth6HR: 'precip_depth_6h',
  seaLvlPressure: 'sea_level_pressure',
  windDirection: 'wind_direction',
  windSpeed: 'wind_speed',
} as const;

export type WeatherField = (typeof WEATHER_COLUMNS)[keyof typeof WEATHER_COLUMNS];

export interface WeatherRow {
  readonly localTime: string;
  readonly siteId: string;
  readonly line: number;
  readonly values: Readonly<Record<WeatherField, number | null>>;
}

export async function* readWeatherFile(path: string): AsyncGenerator<WeatherRow> {
  let header: string[] | undefined;
  let indexes: [WeatherField, number][] = [];
  let line = 0;
  for await (const record of readCsvRecords(createReadStream(path))) {
    line++;
    if (!header) {
      header = record;
      if (header[0] !== 'timestamp' || header[1] !== 'site_id') {
        throw new Error(`${path}: header must start with timestamp,site_id (BDG2 weather.csv)`);
      }
      indexes = Object.entries(WEATHER_COLUMNS).map(([column, field]) => [field, header?.indexOf(column) ?? -1]);
      const missing = Object.keys(WEATHER_COLUMNS).filter((_, i) => indexes[i]?.[1] === -1);
      if (missing.length) throw new Error(`${path}: missing column(s) ${missing.join(', ')}`);
      continue;
    }
    if (record.length !== header.length)
      throw new Error(`${path}: line ${line} has ${record.length} fields, the header has ${header.length}`);
    const values = {} as Record<WeatherField, number | null>;
    for (const [field, i] of indexes) {
      const cell = record[i] ?? '';
      const n = cell === '' ? null : Number(cell);
      if (n !== null && !Number.isFinite(n))
        throw new Error(`${path}: line ${line}: ${field} "${cell}" is not a number`);
      values[field] = n;
    }
    yield { localTime: record[0] ?? '', siteId: record[1] ?? '', line, values };
  }
}
