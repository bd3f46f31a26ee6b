/**
 * Local days of the meters of a BDG2 directory (metadata.csv, weather.csv, meters/<variant>/*.csv),
 * assembled with the same code as the embed_profiles stage, without Kafka: what the profile
 * encoder is trained on (models/profile) and what `eaio eval similarity` loads.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METER_TYPES, type MeterType } from '../domain/meter-types.js';
import { localToUtc } from '../sources/bdg2/local-time.js';
import { parseMetadata } from '../sources/bdg2/metadata.js';
import { meterFilePath, type Variant } from '../sources/bdg2/replay-events.js';
import { readWeatherFile } from '../sources/bdg2/weather-csv.js';
import { openWideFile } from '../sources/bdg2/wide-csv.js';
import { DayAccumulator, type HourWeather, localDayOf } from '../stages/embed_profiles/day.js';

export interface MeterDays {
  readonly buildingId: string;
  readonly siteId: string;
  readonly meterType: MeterType;
  readonly meterId: string;
  readonly primaryUse: string | null;
  readonly floorAreaSqm: number | null;
  readonly zone: string;
  readonly days: Map<string, DayAccumulator>;
}

export interface SliceOptions {
  readonly dir: string;
  readonly variant?: Variant;
  readonly meterTypes?: readonly MeterType[];
  readonly log?: (line: string) => void;
}

export async function readSliceDays(options: SliceOptions): Promise<MeterDays[]> {
  const { dir } = options;
  const variant = options.variant ?? 'raw';
  const metadata = parseMetadata(readFileSync(join(dir, 'metadata.csv'), 'utf8'), join(dir, 'metadata.csv'));
  const buildings = new Map(metadata.buildings.map((b) => [b.building_id, b]));

  const weather = new Map<string, Map<number, HourWeather>>();
  const weatherPath = join(dir, 'weather.csv');
  if (existsSync(weatherPath)) {
    const zones = new Map(metadata.sites.map((s) => [s.site_id, s.timezone]));
    for await (const row of readWeatherFile(weatherPath)) {
      const zone = zones.get(row.siteId);
      if (!zone) continue;
      const utc = localToUtc(row.localTime, zone);
      if (utc.kind !== 'ok') continue;
      let site = weather.get(row.siteId);
      if (!site) {
        site = new Map();
        weather.set(row.siteId, site);
      }
      site.set(utc.utcMs, {
        airTemperature: row.values.air_temperature,
        dewTemperature: row.values.dew_temperature,
      });
    }
  }

  const meters: MeterDays[] = [];
  for (const type of options.meterTypes ?? METER_TYPES) {
    const path = meterFilePath(dir, variant, type);
    if (!existsSync(path)) continue;
    options.log?.(`reading ${path}`);
    const file = openWideFile(path);
    const byColumn = new Map<string, MeterDays>();
    for (const column of await file.columns()) {
      const b = buildings.get(column);
      if (!b) continue;
      const m: MeterDays = {
        buildingId: b.building_id,
        siteId: b.site_id,
        meterType: type,
        meterId: `${b.building_id}:${type}`,
        primaryUse: b.building_use_type,
        floorAreaSqm: b.floor_area_sqm,
        zone: b.timezone,
        days: new Map(),
      };
      byColumn.set(column, m);
      meters.push(m);
    }
    for await (const row of file.rows()) {
      for (const cell of row.cells) {
        const m = byColumn.get(cell.column);
        const value = Number(cell.value);
        if (!m || !Number.isFinite(value)) continue;
        const utc = localToUtc(row.localTime, m.zone);
        if (utc.kind !== 'ok') continue;
        const day = localDayOf(m.zone, utc.utcMs);
        let acc = m.days.get(day.date);
        if (!acc) {
          acc = new DayAccumulator(day);
          m.days.set(day.date, acc);
        }
        acc.add(utc.utcMs, value, weather.get(m.siteId)?.get(utc.utcMs));
      }
    }
  }
  return meters;
}
