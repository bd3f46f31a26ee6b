import { METER_TYPE_SPECS, type MeterType } from '../../domain/meter-types.js';

/**
 * Units a reading may arrive in, and their factor to the dimension's base unit: kWh for energy,
 * litres for volume (the canonical units of BDG2, domain/meter-types.ts). Power and mass are known
 * so that a reading in kW (a rate, not an amount) or in lb of steam (needs the steam's enthalpy) is
 * rejected as incompatible rather than unknown.
 */
export type Dimension = 'energy' | 'volume' | 'power' | 'mass';

interface UnitDef {
  readonly symbol: string;
  readonly dimension: Dimension;
  /** Multiply by this to get kWh (energy) or L (volume). */
  readonly factor: number;
  readonly aliases: readonly string[];
}

const KWH_PER_BTU = 0.000_293_071_070_172_222; // 1 BTU(IT) = 1055.05585262 J
const LITRES_PER_US_GALLON = 3.785_411_784;
const LITRES_PER_CUBIC_FOOT = 28.316_846_592;

const UNITS: readonly UnitDef[] = [
  { symbol: 'Wh', dimension: 'energy', factor: 1e-3, aliases: ['Wh', 'W·h', 'watt-hour', 'watt-hours'] },
  {
    symbol: 'kWh',
    dimension: 'energy',
    factor: 1,
    aliases: ['kWh', 'kW·h', 'kW h', 'KWH', 'kwh', 'kilowatt-hour', 'kilowatt-hours'],
  },
  { symbol: 'MWh', dimension: 'energy', factor: 1e3, aliases: ['MWh', 'MW·h', 'megawatt-hour', 'megawatt-hours'] },
  { symbol: 'GWh', dimension: 'energy', factor: 1e6, aliases: ['GWh', 'gigawatt-hour'] },
  // Milliwatt-hours exist (small sensors); listed so that "mwh" is recognised as ambiguous with MWh.
  { symbol: 'mWh', dimension: 'energy', factor: 1e-6, aliases: ['mWh'] },
  { symbol: 'J', dimension: 'energy', factor: 1 / 3.6e6, aliases: ['J', 'joule', 'joules'] },
  { symbol: 'kJ', dimension: 'energy', factor: 1 / 3.6e3, aliases: ['kJ'] },
  { symbol: 'MJ', dimension: 'energy', factor: 1 / 3.6, aliases: ['MJ'] },
  { symbol: 'GJ', dimension: 'energy', factor: 1e3 / 3.6, aliases: ['GJ'] },
  { symbol: 'BTU', dimension: 'energy', factor: KWH_PER_BTU, aliases: ['BTU', 'Btu', 'btu'] },
  { symbol: 'kBTU', dimension: 'energy', factor: KWH_PER_BTU * 1e3, aliases: ['kBTU', 'kBtu', 'kbtu', 'KBTU'] },
  // "MBtu" means a thousand BTU in US practice and a million elsewhere: only the unambiguous MMBtu is accepted.
  { symbol: 'MMBTU', dimension: 'energy', factor: KWH_PER_BTU * 1e6, aliases: ['MMBTU', 'MMBtu', 'mmbtu'] },
  { symbol: 'therm', dimension: 'energy', factor: KWH_PER_BTU * 1e5, aliases: ['therm', 'therms', 'thm'] },
  // Refrigeration ton-hour = 12,000 BTU (chilled water).
  {
    symbol: 'ton-hour',
    dimension: 'energy',
    factor: KWH_PER_BTU * 12_000,
    aliases: ['ton-hour', 'ton-hours', 'ton hour', 'ton hours', 'tonh', 'TRh', 'RTh'],
  },
  { symbol: 'mL', dimension: 'volume', factor: 1e-3, aliases: ['mL', 'ml', 'millilitre', 'milliliter'] },
  { symbol: 'L', dimension: 'volume', factor: 1, aliases: ['L', 'l', 'litre', 'litres', 'liter', 'liters'] },
  { symbol: 'kL', dimension: 'volume', factor: 1e3, aliases: ['kL', 'kl', 'kilolitre', 'kiloliter'] },
  { symbol: 'ML', dimension: 'volume', factor: 1e6, aliases: ['ML', 'megalitre', 'megaliter'] },
  { symbol: 'm3', dimension: 'volume', factor: 1e3, aliases: ['m3', 'm³', 'm^3', 'cubic metre', 'cubic meter', 'cbm'] },
  { symbol: 'gal', dimension: 'volume', factor: LITRES_PER_US_GALLON, aliases: ['gal', 'gallon', 'gallons', 'US gal'] },
  { symbol: 'kgal', dimension: 'volume', factor: LITRES_PER_US_GALLON * 1e3, aliases: ['kgal', 'kGal'] },
  {
    symbol: 'ft3',
    dimension: 'volume',
    factor: LITRES_PER_CUBIC_FOOT,
    aliases: ['ft3', 'ft³', 'cf', 'cubic foot', 'cubic feet'],
  },
  { symbol: 'ccf', dimension: 'volume', factor: LITRES_PER_CUBIC_FOOT * 100, aliases: ['ccf', 'CCF', 'hcf', 'HCF'] },
  { symbol: 'W', dimension: 'power', factor: 1e-3, aliases: ['W'] },
  { symbol: 'kW', dimension: 'power', factor: 1, aliases: ['kW', 'KW', 'kw'] },
  { symbol: 'MW', dimension: 'power', factor: 1e3, aliases: ['MW'] },
  { symbol: 'kg', dimension: 'mass', factor: 1, aliases: ['kg'] },
  { symbol: 'lb', dimension: 'mass', factor: 0.453_592_37, aliases: ['lb', 'lbs'] },
  { symbol: 'klb', dimension: 'mass', factor: 453.592_37, aliases: ['klb', 'Mlb'] },
];

const normalise = (s: string) => s.trim().replace(/\s+/g, ' ');

const exact = new Map<string, UnitDef>();
/** Case-folded spelling → every unit it could mean (more than one = ambiguous). */
const folded = new Map<string, Set<UnitDef>>();
for (const unit of UNITS) {
  for (const alias of [unit.symbol, ...unit.aliases]) {
    exact.set(normalise(alias), unit);
    const key = normalise(alias).toLowerCase();
    folded.set(key, (folded.get(key) ?? new Set()).add(unit));
  }
}

export type UnitLookup =
  | { readonly ok: true; readonly unit: UnitDef }
  | { readonly ok: false; readonly code: 'unknown_unit' | 'ambiguous_unit'; readonly message: string };

export function lookupUnit(raw: string): UnitLookup {
  const key = normalise(raw);
  const hit = exact.get(key);
  if (hit) return { ok: true, unit: hit };
  const candidates = folded.get(key.toLowerCase());
  if (candidates?.size === 1) return { ok: true, unit: [...candidates][0] as UnitDef };
  if (candidates && candidates.size > 1) {
    const options = [...candidates].map((u) => u.symbol).join(' or ');
    return {
      ok: false,
      code: 'ambiguous_unit',
      message: `unit "${raw}" is ambiguous (${options}); spell it with the right case`,
    };
  }
  return {
    ok: false,
    code: 'unknown_unit',
    message: `unit "${raw}" is not known (e.g. kWh, Wh, MWh, kBTU, therm, ton-hour, L, m3, gal)`,
  };
}

export type Conversion =
  | { readonly ok: true; readonly value: number; readonly unit: 'kWh' | 'L' }
  | {
      readonly ok: false;
      readonly code: 'unknown_unit' | 'ambiguous_unit' | 'unit_incompatible';
      readonly message: string;
    };

/** Converts `value` in `rawUnit` to the canonical unit of `meterType`. */
export function toCanonical(value: number, rawUnit: string, meterType: MeterType): Conversion {
  const lookup = lookupUnit(rawUnit);
  if (!lookup.ok) return lookup;
  const spec = METER_TYPE_SPECS[meterType];
  if (lookup.unit.dimension !== spec.dimension) {
    return {
      ok: false,
      code: 'unit_incompatible',
      message: `unit "${rawUnit}" measures ${lookup.unit.dimension}; a ${meterType} meter reports ${spec.dimension} (${spec.unit})`,
    };
  }
  return { ok: true, value: value * lookup.unit.factor, unit: spec.unit };
}
