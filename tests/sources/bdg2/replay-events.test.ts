import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METER_TYPES } from '../../../domain/meter-types.js';
import { parseMetadata } from '../../../sources/bdg2/metadata.js';
import {
  type BuildingZone,
  meterFilePath,
  type ReplayHour,
  ReplayReader,
  type ReplaySelection,
  type Variant,
} from '../../../sources/bdg2/replay-events.js';

const DIR = new URL('../../../data/bdg2-sample', import.meta.url).pathname;
const metadata = parseMetadata(readFileSync(`${DIR}/metadata.csv`, 'utf8'));
const buildings = new Map<string, BuildingZone>(
  metadata.buildings.map((b) => [b.building_id, { siteId: b.site_id, timezone: b.timezone }]),
);
const siteZones = new Map(metadata.sites.map((s) => [s.site_id, s.timezone]));

/** Independent count: split the files on CRLF and commas, no shared code. */
function nonEmptyCells(variant: Variant): number {
  let n = 0;
  for (const type of METER_TYPES) {
    let text: string;
    try {
      text = readFileSync(meterFilePath(DIR, variant, type), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\r\n').slice(1))
      n += line
        .split(',')
        .slice(1)
        .filter((c) => c !== '').length;
  }
  return n;
}

async function replay(selection: Partial<ReplaySelection> = {}) {
  const reader = new ReplayReader(
    { dir: DIR, variant: 'cleaned', meterTypes: METER_TYPES, ...selection },
    buildings,
    siteZones,
  );
  const hours: ReplayHour[] = [];
  for await (const h of reader.hours()) hours.push(h);
  return { reader, hours };
}

describe('ReplayReader on the committed BDG2 sample', () => {
  it.each(['cleaned', 'raw'] as const)(
    '%s: one reading per non-empty cell, 839 of 840 weather rows',
    async (variant) => {
      const { reader, hours } = await replay({ variant });
      const readings = hours.flatMap((h) => h.readings);
      expect(readings).toHaveLength(nonEmptyCells(variant));
      expect(reader.stats.readings).toBe(readings.length);
      // The spring-forward row 2017-03-12 02:00 has weather but no meter values; it is dropped.
      expect(reader.stats.weather).toBe(839);
      expect(reader.stats.skippedNonexistentLocalTime).toBe(1);
      expect(reader.stats.skippedUnknownBuilding).toBe(0);
      expect(new Set(readings.map((r) => `${r.meter_id}@${r.time}`)).size).toBe(readings.length);
    },
  );

  it('yields hours in ascending UTC order, each message inside its hour', async () => {
    const { hours } = await replay();
    for (let i = 1; i < hours.length; i++) expect(hours[i]?.utcMs).toBeGreaterThan(hours[i - 1]?.utcMs ?? 0);
    for (const h of hours) {
      for (const m of [...h.weather, ...h.readings])
        expect(Math.floor(Date.parse(m.time) / 3_600_000) * 3_600_000).toBe(h.utcMs);
    }
  });

  it('converts each site with its own zone (Panther US/Eastern, Bobcat US/Mountain), across DST', async () => {
    const { hours } = await replay({ meterTypes: ['electricity', 'solar'] });
    const readings = hours.flatMap((h) => h.readings);
    const find = (meter: string, local: string) =>
      readings.find((r) => r.meter_id === meter && r.local_time === local)?.time;
    expect(find('Panther_office_Karla:electricity', '2017-03-12 01:00:00')).toBe('2017-03-12T06:00:00.000Z');
    expect(find('Panther_office_Karla:electricity', '2017-03-12 03:00:00')).toBe('2017-03-12T07:00:00.000Z');
    expect(find('Bobcat_education_Dylan:solar', '2017-03-01 12:00:00')).toBe('2017-03-01T19:00:00.000Z');
    expect(readings.find((r) => r.meter_id === 'Panther_office_Karla:electricity')).toMatchObject({
      building_id: 'Panther_office_Karla',
      site_id: 'Panther',
      unit: 'kWh',
      source: 'bdg2:cleaned',
    });
  });

  it('filters by meter type and by a UTC [from, to) window', async () => {
    const fromMs = Date.parse('2017-03-01T00:00:00Z');
    const toMs = Date.parse('2017-03-02T00:00:00Z');
    const { hours, reader } = await replay({ meterTypes: ['solar'], fromMs, toMs });
    const readings = hours.flatMap((h) => h.readings);
    expect(new Set(readings.map((r) => r.meter_type))).toEqual(new Set(['solar']));
    expect(readings.every((r) => Date.parse(r.time) >= fromMs && Date.parse(r.time) < toMs)).toBe(true);
    expect(hours.flatMap((h) => h.weather)).toHaveLength(24);
    expect(reader.stats.skippedOutOfRange).toBeGreaterThan(0);
  });

  it('reports a selected meter type without a file', async () => {
    const { reader } = await replay({ meterTypes: ['steam'] });
    expect(reader.stats.missingFiles).toEqual([meterFilePath(DIR, 'cleaned', 'steam')]);
  });
});
