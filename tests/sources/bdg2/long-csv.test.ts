import { describe, expect, it } from 'vitest';
import { type LongHeader, mapLongRow, parseLongHeader } from '../../../sources/bdg2/long-csv.js';
import type { BuildingZone } from '../../../sources/bdg2/replay-events.js';

const zones = new Map<string, BuildingZone>([
  ['Panther_office_Karla', { siteId: 'Panther', timezone: 'US/Eastern' }],
  ['Robin_education_Julius', { siteId: 'Robin', timezone: 'Europe/London' }],
]);

function header(line: string): LongHeader {
  const h = parseLongHeader(line);
  if ('error' in h) throw new Error(h.error);
  return h;
}
const basic = header('timestamp,meter_id,value');

describe('parseLongHeader', () => {
  it('finds the columns in any order and names the ones it does not use', () => {
    const h = header('meter_id,extra,value,unit,timestamp');
    expect(h.index).toEqual({ meter_id: 0, value: 2, unit: 3, timestamp: 4 });
    expect(h.ignored).toEqual(['extra']);
  });

  it('names the missing columns (a wide BDG2 file is not this form)', () => {
    expect(parseLongHeader('timestamp,Panther_office_Karla,Panther_office_Hannah')).toEqual({
      error: expect.stringContaining('lacks meter_id, value'),
    });
  });
});

describe('mapLongRow', () => {
  it('maps a BDG2 local time to UTC with the site zone, as replay does (EST in January)', () => {
    expect(mapLongRow('2017-01-01 00:00:00,Panther_office_Karla:electricity,12.5', basic, zones, 'csv:x')).toEqual({
      reading: {
        schema_version: 1,
        meter_id: 'Panther_office_Karla:electricity',
        building_id: 'Panther_office_Karla',
        meter_type: 'electricity',
        site_id: 'Panther',
        time: '2017-01-01T05:00:00.000Z',
        value: 12.5,
        unit: 'kWh',
        source: 'csv:x',
        local_time: '2017-01-01 00:00:00',
      },
    });
  });

  it('sends a time with Z or an offset as written; the unit of water meters is litres', () => {
    const row = mapLongRow('2017-07-01T12:00:00+01:00,Robin_education_Julius:water,3', basic, undefined, 's');
    expect(row).toMatchObject({ reading: { time: '2017-07-01T12:00:00+01:00', unit: 'L', meter_type: 'water' } });
    expect('reading' in row && 'local_time' in row.reading).toBe(false);
  });

  it('takes the optional columns over the defaults', () => {
    const h = header('timestamp,meter_id,value,unit,site_id,is_estimated,source');
    expect(
      mapLongRow('2017-01-01T00:00:00Z,Panther_office_Karla:electricity,7,Wh,Elsewhere,true,gw:1', h, zones, 's'),
    ).toMatchObject({ reading: { unit: 'Wh', site_id: 'Elsewhere', is_estimated: true, source: 'gw:1' } });
  });

  it('leaves content to validate: an unknown meter id or odd time is sent as it is', () => {
    expect(mapLongRow('2017-02-30T00:00:00Z,no-colon,1', basic, undefined, 's')).toEqual({
      reading: { schema_version: 1, meter_id: 'no-colon', time: '2017-02-30T00:00:00Z', value: 1, source: 's' },
    });
  });

  it('an empty value is no reading', () => {
    expect(mapLongRow('2017-01-01 00:00:00,Panther_office_Karla:electricity,', basic, zones, 's')).toEqual({
      empty: true,
    });
  });

  it.each([
    ['2017-01-01T00:00:00Z,Panther_office_Karla:electricity,abc', zones, 'not_a_number'],
    ['2017-01-01T00:00:00Z,Panther_office_Karla:electricity,Infinity', zones, 'not_a_number'],
    ['2017-01-01T00:00:00Z,Panther_office_Karla:electricity', zones, 'bad_csv_row'],
    ['2017-01-01T00:00:00Z,"Panther_office_Karla:electricity,1', zones, 'bad_csv_row'],
    ['2017-01-01 00:00:00,Panther_office_Karla:electricity,1', undefined, 'no_time_zone'],
    ['2017-01-01 00:00:00,Nowhere_office_X:electricity,1', zones, 'no_time_zone'],
    ['2017-03-12 02:00:00,Panther_office_Karla:electricity,1', zones, 'nonexistent_local_time'],
  ])('%s → %s', (line, z, problem) => {
    expect(mapLongRow(line, basic, z, 's')).toMatchObject({ problem });
  });
});
