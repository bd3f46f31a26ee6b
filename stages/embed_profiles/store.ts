/**
 * What embed_profiles reads from PostgreSQL: the catalog (time zone, primary use, area of a
 * building) and the stored readings that rebuild a meter's open days and an alert's window.
 */
import type { Sql } from 'postgres';
import { pgArrayLiteral } from '../shared/pg-array.js';

export interface BuildingInfo {
  readonly buildingId: string;
  readonly siteId: string;
  readonly zone: string | undefined;
  readonly primaryUse: string | null;
  readonly floorAreaSqm: number | null;
}

export interface StoredReading {
  readonly meterId: string;
  readonly timeMs: number;
  readonly value: number;
  readonly airTemperature: number | null;
  readonly dewTemperature: number | null;
}

export async function loadBuildings(sql: Sql, ids: readonly string[]): Promise<BuildingInfo[]> {
  if (ids.length === 0) return [];
  const rows = await sql<
    { building_id: string; site_id: string; timezone: string | null; primary_use: string | null; sqm: number | null }[]
  >`
    SELECT b.building_id, b.site_id, COALESCE(b.timezone, s.timezone) AS timezone, b.building_use_type::text AS primary_use, b.floor_area_sqm AS sqm
    FROM buildings b JOIN sites s USING (site_id)
    WHERE b.building_id = ANY(${pgArrayLiteral(ids)}::text[])`;
  return rows.map((r) => ({
    buildingId: r.building_id,
    siteId: r.site_id,
    zone: r.timezone ?? undefined,
    primaryUse: r.primary_use,
    floorAreaSqm: r.sqm,
  }));
}

/** Stored readings of these meters in [fromMs, toMs). */
export async function loadReadings(
  sql: Sql,
  meters: readonly string[],
  fromMs: number,
  toMs: number,
): Promise<StoredReading[]> {
  if (meters.length === 0) return [];
  const rows = await sql<
    { meter_id: string; time: Date; value: number; air_temperature: number | null; dew_temperature: number | null }[]
  >`
    SELECT meter_id, time, value, air_temperature, dew_temperature
    FROM meter_readings
    WHERE meter_id = ANY(${pgArrayLiteral(meters)}::text[])
      AND time >= ${new Date(fromMs)} AND time < ${new Date(toMs)}`;
  return rows.map((r) => ({
    meterId: r.meter_id,
    timeMs: r.time.getTime(),
    value: r.value,
    airTemperature: r.air_temperature,
    dewTemperature: r.dew_temperature,
  }));
}
