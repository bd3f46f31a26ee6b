import { describe, expect, it } from 'vitest';
import { catalogFrom } from '../../../stages/validate/catalog.js';
import { VALIDATE_DEAD_LETTER_CODES } from '../../../stages/validate/codes.js';
import { decodeJson, type ValidationCode, validateBatch, validateReading } from '../../../stages/validate/rules.js';
import { deadLetterCode } from '../../../stages/validate/stage.js';
import { rawReading } from '../../domain/test-fixtures.js';

const now = new Date('2017-03-20T12:00:00Z');
const catalog = catalogFrom(
  [
    ['Panther_office_Karla', { siteId: 'Panther' }],
    ['Rat_office_Lora', { siteId: 'Rat' }],
  ],
  [
    ['Panther_office_Karla:electricity', { buildingId: 'Panther_office_Karla', meterType: 'electricity' }],
    ['Panther_office_Karla:water', { buildingId: 'Panther_office_Karla', meterType: 'water' }],
    ['Panther_office_Karla:chilledwater', { buildingId: 'Panther_office_Karla', meterType: 'chilledwater' }],
  ],
);

const good = rawReading;
const water = { ...good, meter_id: 'Panther_office_Karla:water', meter_type: 'water', unit: 'L', value: 120 };

/** Decode + validate, the way the stage will call it. */
function codeOf(input: string | Buffer | null | object): ValidationCode | 'ok' {
  let value: unknown = input;
  if (input === null || typeof input === 'string' || Buffer.isBuffer(input)) {
    const decoded = decodeJson(input);
    if (!decoded.ok) return decoded.code;
    value = decoded.value;
  }
  const result = validateReading(value, catalog, now);
  return result.ok ? 'ok' : result.code;
}

const without = (key: keyof typeof good) => {
  const copy: Record<string, unknown> = { ...good };
  delete copy[key];
  return copy;
};

// Each row: a distinct malformed input and the one specific code it must be dead-lettered with.
const MALFORMED: [string, string | Buffer | null | object, ValidationCode][] = [
  ['tombstone (null value)', null, 'invalid_json'],
  ['empty bytes', '', 'invalid_json'],
  ['truncated JSON', '{"schema_version":1,"meter_id":', 'invalid_json'],
  ['CSV line instead of JSON', '2017-03-12 03:00:00,46.2089', 'invalid_json'],
  ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'invalid_encoding'],
  ['JSON array', '[1,2,3]', 'payload_not_object'],
  ['JSON number', '42', 'payload_not_object'],
  ['JSON null', 'null', 'payload_not_object'],
  ['JSON string', '"kWh"', 'payload_not_object'],
  ['schema_version missing', without('schema_version'), 'schema_violation:schema_version'],
  ['schema_version 2', { ...good, schema_version: 2 }, 'unsupported_schema_version'],
  ['schema_version "1" as a string', { ...good, schema_version: '1' }, 'unsupported_schema_version'],
  ['meter_id missing', without('meter_id'), 'schema_violation:meter_id'],
  ['building_id a number', { ...good, building_id: 17 }, 'schema_violation:building_id'],
  ['unit missing', without('unit'), 'schema_violation:unit'],
  ['source empty', { ...good, source: '' }, 'schema_violation:source'],
  ['value as a string', { ...good, value: '46.2' }, 'schema_violation:value'],
  ['is_estimated as "yes"', { ...good, is_estimated: 'yes' }, 'schema_violation:is_estimated'],
  ['time as epoch millis', { ...good, time: 1489302000000 }, 'schema_violation:time'],
  ['value null (NaN serialised)', { ...good, value: null }, 'value_missing'],
  [
    'value 1e999 → Infinity',
    '{"schema_version":1,"meter_id":"Panther_office_Karla:electricity","building_id":"Panther_office_Karla","meter_type":"electricity","time":"2017-03-12T07:00:00Z","value":1e999,"unit":"kWh","source":"t"}',
    'value_not_finite',
  ],
  ['value -Infinity (in-process producer)', { ...good, value: Number.NEGATIVE_INFINITY }, 'value_not_finite'],
  ['meter_type unknown', { ...good, meter_type: 'nuclear' }, 'unknown_meter_type'],
  ['meter_type capitalised', { ...good, meter_type: 'Electricity' }, 'unknown_meter_type'],
  ['meter_id without type', { ...good, meter_id: 'Panther_office_Karla' }, 'meter_id_malformed'],
  ['meter_id of another building', { ...good, meter_id: 'Rat_office_Lora:electricity' }, 'meter_id_building_mismatch'],
  ['meter_id type ≠ meter_type', { ...good, meter_id: 'Panther_office_Karla:water' }, 'meter_type_mismatch'],
  [
    'building not in catalog',
    { ...good, building_id: 'Ghost_office_X', meter_id: 'Ghost_office_X:electricity' },
    'unknown_building',
  ],
  [
    'known building, no such meter',
    { ...good, meter_type: 'steam', meter_id: 'Panther_office_Karla:steam' },
    'unknown_meter',
  ],
  ['site differs from catalog', { ...good, site_id: 'Rat' }, 'site_mismatch'],
  ['time without offset', { ...good, time: '2017-03-12T07:00:00' }, 'timestamp_missing_offset'],
  ['BDG2 local timestamp sent as is', { ...good, time: '2017-03-12 03:00:00' }, 'timestamp_missing_offset'],
  ['time not a date', { ...good, time: 'yesterday' }, 'timestamp_unparseable'],
  ['time 30 February', { ...good, time: '2017-02-30T00:00:00Z' }, 'timestamp_unparseable'],
  ['time hour 25', { ...good, time: '2017-03-12T25:00:00Z' }, 'timestamp_unparseable'],
  ['time one day ahead', { ...good, time: '2017-03-21T12:00:00Z' }, 'timestamp_in_future'],
  ['time 1999', { ...good, time: '1999-12-31T23:00:00Z' }, 'timestamp_before_2000'],
  ['time epoch zero', { ...good, time: '1970-01-01T00:00:00Z' }, 'timestamp_before_2000'],
  ['unit unknown', { ...good, unit: 'furlong' }, 'unknown_unit'],
  ['unit ambiguous by case', { ...good, unit: 'mwh' }, 'ambiguous_unit'],
  ['volume unit on an electricity meter', { ...good, unit: 'm3' }, 'unit_incompatible'],
  ['power unit instead of energy', { ...good, unit: 'kW' }, 'unit_incompatible'],
  ['energy unit on a water meter', { ...water, unit: 'kWh' }, 'unit_incompatible'],
  ['negative electricity', { ...good, value: -0.5 }, 'value_negative'],
  ['negative water', { ...water, value: -3 }, 'value_negative'],
  ['electricity 1 GWh in an hour', { ...good, value: 1, unit: 'GWh' }, 'value_above_ceiling'],
  ['electricity 1e12 Wh', { ...good, value: 1e12, unit: 'Wh' }, 'value_above_ceiling'],
  ['overflow when converting', { ...good, value: 1e306, unit: 'GWh' }, 'value_not_finite'],
];

describe('validateReading: malformed inputs are each rejected with one specific code', () => {
  it('has at least 30 distinct malformed inputs', () => {
    expect(MALFORMED.length).toBeGreaterThanOrEqual(30);
    expect(new Set(MALFORMED.map(([name]) => name)).size).toBe(MALFORMED.length);
  });

  it.each(MALFORMED)('%s → %s', (_name, input, code) => {
    expect(codeOf(input)).toBe(code);
  });

  it('every rejection carries a message naming the problem', () => {
    const result = validateReading({ ...good, site_id: 'Rat' }, catalog, now);
    expect(result).toMatchObject({ ok: false, message: 'building Panther_office_Karla is on site Panther, not Rat' });
  });
});

describe('validate: the dead-letter codes the rules give are exactly the listed ones', () => {
  const given = new Set(MALFORMED.map(([, , code]) => deadLetterCode(code)));

  it('every code a malformed input gets is listed', () => {
    for (const code of given) expect(VALIDATE_DEAD_LETTER_CODES).toContain(code);
  });

  it('every listed code is given to at least one malformed input (no code the rules cannot emit)', () => {
    expect(VALIDATE_DEAD_LETTER_CODES.filter((code) => !given.has(code))).toEqual([]);
  });

  it('folds schema_violation:<field> into schema_violation (the field stays in the message)', () => {
    expect(deadLetterCode('schema_violation:meter_id')).toBe('schema_violation');
  });
});

describe('validateReading: accepted readings', () => {
  it('passes a replayed BDG2 reading through, site filled from the catalog, time normalised', () => {
    const result = validateReading({ ...good, site_id: undefined, time: '2017-03-12T03:00:00-04:00' }, catalog, now);
    expect(result).toEqual({
      ok: true,
      reading: {
        schema_version: 1,
        meter_id: 'Panther_office_Karla:electricity',
        building_id: 'Panther_office_Karla',
        site_id: 'Panther',
        meter_type: 'electricity',
        time: '2017-03-12T07:00:00.000Z',
        value: 46.2089,
        unit: 'kWh',
        original_value: 46.2089,
        original_unit: 'kWh',
        is_estimated: false,
        quality_code: 'measured',
        source: 'bdg2:cleaned',
      },
    });
  });

  it('converts to the canonical unit and keeps the original', () => {
    const result = validateReading({ ...good, value: 46208.9, unit: 'Wh', is_estimated: true }, catalog, now);
    expect(result).toMatchObject({
      ok: true,
      reading: {
        value: expect.closeTo(46.2089, 9),
        unit: 'kWh',
        original_value: 46208.9,
        original_unit: 'Wh',
        quality_code: 'estimated',
      },
    });
    const chilled = {
      ...good,
      meter_id: 'Panther_office_Karla:chilledwater',
      meter_type: 'chilledwater',
      value: 10,
      unit: 'ton-hours',
    };
    expect(validateReading(chilled, catalog, now)).toMatchObject({
      ok: true,
      reading: { value: expect.closeTo(35.1685, 3), unit: 'kWh' },
    });
    expect(validateReading({ ...water, value: 2, unit: 'm³' }, catalog, now)).toMatchObject({
      ok: true,
      reading: { value: 2000, unit: 'L' },
    });
  });

  it('accepts zero, the boundaries 2000-01-01 and now + skew, and ignores unknown extra fields', () => {
    expect(codeOf({ ...good, value: 0 })).toBe('ok');
    expect(codeOf({ ...good, time: '2000-01-01T00:00:00Z' })).toBe('ok');
    expect(codeOf({ ...good, time: '2017-03-20T12:15:00Z' })).toBe('ok');
    expect(codeOf({ ...good, time: '2017-03-20T12:15:01Z' })).toBe('timestamp_in_future');
    expect(codeOf({ ...good, firmware: '1.2' })).toBe('ok');
  });

  it('the future skew is configurable', () => {
    const ahead = { ...good, time: '2017-03-20T14:00:00Z' };
    expect(validateReading(ahead, catalog, now, { futureSkewMs: 3 * 3_600_000 }).ok).toBe(true);
  });
});

describe('validateBatch', () => {
  it('skips later duplicates of the same meter, instant and value, even written differently', () => {
    const results = validateBatch(
      [
        good,
        { ...good, time: '2017-03-12T03:00:00-04:00', value: good.value * 1000, unit: 'Wh' },
        { ...good, time: '2017-03-12T08:00:00Z' },
        { ...good, value: -1 },
        good,
      ],
      catalog,
      now,
    );
    expect(results.map((r) => (r.ok ? 'ok' : 'skip' in r ? r.skip : r.code))).toEqual([
      'ok',
      'duplicate_in_batch',
      'ok',
      'value_negative',
      'duplicate_in_batch',
    ]);
  });

  it('passes a later reading of the same meter and hour with another value: a correction, the latest wins downstream', () => {
    const results = validateBatch([good, { ...good, value: 99 }, { ...good, value: 99 }], catalog, now);
    expect(results.map((r) => (r.ok ? r.reading.value : 'skip' in r ? r.skip : r.code))).toEqual([
      good.value,
      99,
      'duplicate_in_batch',
    ]);
  });

  it('passes a repeat that changes another stored field (here the estimate flag), as the writer would store it', () => {
    const results = validateBatch([good, { ...good, is_estimated: true }], catalog, now);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
  });

  it('a rejected reading does not shadow a later valid one', () => {
    const results = validateBatch([{ ...good, unit: 'furlong' }, good], catalog, now);
    expect(results.map((r) => r.ok)).toEqual([false, true]);
  });
});
