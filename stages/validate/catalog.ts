import type { Sql } from 'postgres';
import type { MeterType } from '../../domain/meter-types.js';
import type { Catalog } from './rules.js';

/**
 * The catalog the validate rules check against, loaded whole from PostgreSQL (BDG2: 1,636
 * buildings, 3,053 meters — a few hundred KB) and refreshed periodically by the stage, so a
 * building imported while the pipeline runs becomes known within one refresh interval.
 */
export interface CatalogSnapshot extends Catalog {
  readonly loadedAt: Date;
  readonly buildingCount: number;
  readonly meterCount: number;
}

export function catalogFrom(
  buildings: Iterable<readonly [string, { siteId: string }]>,
  meters: Iterable<readonly [string, { buildingId: string; meterType: MeterType }]>,
  loadedAt = new Date(),
): CatalogSnapshot {
  const b = new Map(buildings);
  const m = new Map(meters);
  return {
    loadedAt,
    buildingCount: b.size,
    meterCount: m.size,
    building: (id) => b.get(id),
    meter: (id) => m.get(id),
  };
}

export async function loadCatalog(sql: Sql): Promise<CatalogSnapshot> {
  const [buildings, meters] = await Promise.all([
    sql<{ building_id: string; site_id: string }[]>`SELECT building_id, site_id FROM buildings`,
    sql<
      { meter_id: string; building_id: string; meter_type: MeterType }[]
    >`SELECT meter_id, building_id, meter_type::text AS meter_type FROM energy_meters`,
  ]);
  return catalogFrom(
    buildings.map((r) => [r.building_id, { siteId: r.site_id }] as const),
    meters.map((r) => [r.meter_id, { buildingId: r.building_id, meterType: r.meter_type }] as const),
  );
}
