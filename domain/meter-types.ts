/**
 * The meter types of BDG2 and the canonical unit each is stored in.
 *
 * Source of the units: BDG2 wiki, "Meters data features"
 * (https://github.com/buds-lab/building-data-genome-project-2/wiki/Meters-data-features):
 * "All energy meters are in kWh and all volume meters in litres." BDG2's energy meters are
 * electricity, chilledwater, steam, hotwater, gas and solar; its volume meters are water and
 * irrigation. (Kaggle GEPIII used kBTU for some sites; BDG2 converted those to kWh.)
 * Readings in other units are converted to these by the validate stage (stages/validate/units.ts).
 */
export const METER_TYPES = [
  'electricity',
  'chilledwater',
  'steam',
  'hotwater',
  'gas',
  'water',
  'irrigation',
  'solar',
] as const;

export type MeterType = (typeof METER_TYPES)[number];

export type CanonicalUnit = 'kWh' | 'L';

export interface MeterTypeSpec {
  readonly unit: CanonicalUnit;
  /** What the canonical unit measures; a reading in another dimension cannot be converted. */
  readonly dimension: 'energy' | 'volume';
  /** Hourly consumption and generation meters never run backwards in BDG2. */
  readonly allowsNegative: boolean;
  /**
   * Largest plausible hourly reading in the canonical unit. Generous on purpose (the largest
   * BDG2 buildings stay far below): only physically absurd values (sensor overflow, unit
   * mix-ups of ×1000) are dead-lettered; ordinary spikes are for the anomaly stage.
   */
  readonly ceilingPerHour: number;
}

export const METER_TYPE_SPECS: Readonly<Record<MeterType, MeterTypeSpec>> = {
  electricity: { unit: 'kWh', dimension: 'energy', allowsNegative: false, ceilingPerHour: 100_000 },
  chilledwater: { unit: 'kWh', dimension: 'energy', allowsNegative: false, ceilingPerHour: 500_000 },
  steam: { unit: 'kWh', dimension: 'energy', allowsNegative: false, ceilingPerHour: 500_000 },
  hotwater: { unit: 'kWh', dimension: 'energy', allowsNegative: false, ceilingPerHour: 500_000 },
  gas: { unit: 'kWh', dimension: 'energy', allowsNegative: false, ceilingPerHour: 500_000 },
  solar: { unit: 'kWh', dimension: 'energy', allowsNegative: false, ceilingPerHour: 50_000 },
  // 100,000 m³ per hour is far beyond any building or campus irrigation.
  water: { unit: 'L', dimension: 'volume', allowsNegative: false, ceilingPerHour: 100_000_000 },
  irrigation: { unit: 'L', dimension: 'volume', allowsNegative: false, ceilingPerHour: 100_000_000 },
};

export function isMeterType(value: unknown): value is MeterType {
  return typeof value === 'string' && (METER_TYPES as readonly string[]).includes(value);
}
