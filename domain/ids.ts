import { isMeterType, type MeterType } from './meter-types.js';

/**
 * Meter ids are text, `${building_id}:${meter_type}` (e.g. `Panther_office_Karla:electricity`),
 * not database serials: BDG2 has exactly one meter per building and type, so the id can be
 * derived from the data itself. Producers (replay, external gateways) then never need a
 * database round-trip, replays and re-imports give the same key, and Kafka partitioning by meter
 * is stable across environments. BDG2 building ids never contain `:`, so the split is unambiguous;
 * we still split at the last `:` so a future building id with a colon keeps working.
 */
export function meterId(buildingId: string, meterType: MeterType): string {
  return `${buildingId}:${meterType}`;
}

export interface ParsedMeterId {
  readonly buildingId: string;
  readonly meterType: MeterType;
}

export function parseMeterId(id: string): ParsedMeterId | undefined {
  const at = id.lastIndexOf(':');
  if (at <= 0) return undefined;
  const buildingId = id.slice(0, at);
  const meterType = id.slice(at + 1);
  return isMeterType(meterType) ? { buildingId, meterType } : undefined;
}
