import { describe, expect, it } from 'vitest';
import { lookupUnit, toCanonical } from '../../../stages/validate/units.js';

const kwh = (value: number, unit: string) => {
  const r = toCanonical(value, unit, 'electricity');
  return r.ok ? r.value : r.code;
};
const litres = (value: number, unit: string) => {
  const r = toCanonical(value, unit, 'water');
  return r.ok ? r.value : r.code;
};

describe('energy units → kWh', () => {
  it.each([
    [1000, 'Wh', 1],
    [1, 'kWh', 1],
    [2, 'MWh', 2000],
    [1, 'GWh', 1e6],
    [3.6e6, 'J', 1],
    [3600, 'kJ', 1],
    [3.6, 'MJ', 1],
    [1, 'GJ', 277.777_777_8],
    [1, 'kBTU', 0.293_071_07],
    [3412.141_633, 'BTU', 1],
    [1, 'MMBtu', 293.071_07],
    [1, 'therm', 29.307_107],
    [1, 'ton-hour', 3.516_852_84],
    [1, 'ton hours', 3.516_852_84],
    [5, '  kWh ', 5],
    [5, 'KWH', 5],
  ])('%d %s = %d kWh', (value, unit, expected) => {
    expect(kwh(value, unit)).toBeCloseTo(expected, 6);
  });

  it('applies to every energy meter type, not only electricity', () => {
    expect(toCanonical(10, 'therms', 'gas')).toEqual({ ok: true, value: expect.closeTo(293.071_07, 4), unit: 'kWh' });
    expect(toCanonical(1, 'ton-hour', 'chilledwater')).toMatchObject({ ok: true, unit: 'kWh' });
    expect(toCanonical(1, 'kBTU', 'steam')).toMatchObject({ ok: true, unit: 'kWh' });
  });
});

describe('volume units → litres', () => {
  it.each([
    [1, 'm3', 1000],
    [1, 'm³', 1000],
    [1, 'gal', 3.785_411_784],
    [1, 'kgal', 3785.411_784],
    [1, 'ft3', 28.316_846_592],
    [1, 'ccf', 2831.684_659_2],
    [1000, 'mL', 1],
    [1, 'kL', 1000],
    [1, 'ML', 1e6],
    [7, 'litres', 7],
  ])('%d %s = %d L', (value, unit, expected) => {
    expect(litres(value, unit)).toBeCloseTo(expected, 6);
  });
});

describe('rejections', () => {
  it('unknown units', () => {
    expect(kwh(1, 'furlongs')).toBe('unknown_unit');
    expect(kwh(1, 'MBtu')).toBe('unknown_unit'); // thousand or million? refused
    expect(kwh(1, '')).toBe('unknown_unit');
  });

  it('case matters where it changes the meaning: mWh vs MWh, mL vs ML', () => {
    expect(kwh(1, 'mWh')).toBeCloseTo(1e-6, 12);
    expect(kwh(1, 'mwh')).toBe('ambiguous_unit');
    expect(litres(1, 'Ml')).toBe('ambiguous_unit');
    expect(lookupUnit('mwh')).toMatchObject({ message: expect.stringContaining('MWh or mWh') });
  });

  it('units of another dimension are incompatible, with the reason', () => {
    expect(kwh(1, 'm3')).toBe('unit_incompatible');
    expect(litres(1, 'kWh')).toBe('unit_incompatible');
    expect(kwh(1, 'kW')).toBe('unit_incompatible'); // power, not energy
    expect(toCanonical(1, 'klb', 'steam')).toMatchObject({
      ok: false,
      code: 'unit_incompatible',
      message: expect.stringContaining('mass'),
    });
  });
});
