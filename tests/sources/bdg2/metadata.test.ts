import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMetadata, USE_TYPE_BY_BDG2 } from '../../../sources/bdg2/metadata.js';

const SAMPLE = new URL('../../../data/bdg2-sample/metadata.csv', import.meta.url);
const HEADER =
  'building_id,site_id,building_id_kaggle,site_id_kaggle,primaryspaceusage,sub_primaryspaceusage,sqm,sqft,lat,lng,timezone,electricity,hotwater,chilledwater,steam,water,irrigation,solar,gas,industry,subindustry,heatingtype,yearbuilt,date_opened,numberoffloors,occupants,energystarscore,eui,site_eui,source_eui,leed_level,rating';
const row = (overrides: Record<string, string>) => {
  const base: Record<string, string> = Object.fromEntries(HEADER.split(',').map((c) => [c, '']));
  Object.assign(
    base,
    {
      building_id: 'Ant_office_A',
      site_id: 'Ant',
      primaryspaceusage: 'Office',
      sqm: '10.0',
      timezone: 'US/Eastern',
      electricity: 'Yes',
    },
    overrides,
  );
  return HEADER.split(',')
    .map((c) => (base[c]?.includes(',') ? `"${base[c]}"` : base[c]))
    .join(',');
};
const file = (...rows: string[]) => `${HEADER}\r\n${rows.join('\r\n')}\r\n`;

describe('parseMetadata on the full BDG2 metadata.csv', () => {
  const parsed = parseMetadata(readFileSync(SAMPLE, 'utf8'));

  it('maps every one of the 1,636 buildings without a problem', () => {
    expect(parsed.problems).toEqual([]);
    expect(parsed.buildings).toHaveLength(1636);
    expect(parsed.sites).toHaveLength(19);
  });

  it('creates one meter per "Yes" flag: 3,053 meters as in the BDG2 paper', () => {
    expect(parsed.meters).toHaveLength(3053);
    expect(parsed.meters.filter((m) => m.meter_type === 'solar').map((m) => m.building_id)).toContain(
      'Bobcat_education_Dylan',
    );
  });

  it('keeps the columns worth keeping, with BDG2 quirks handled', () => {
    const dean = parsed.buildings.find((b) => b.building_id === 'Panther_lodging_Dean');
    expect(dean).toMatchObject({
      site_id: 'Panther',
      building_use_type: 'lodging_residential',
      sub_primary_space_use: 'Residence Hall',
      floor_area_sqm: 508.8,
      year_built: 1989,
      eui: 271,
      timezone: 'US/Eastern',
      leed_level: 'None',
    });
    expect(parsed.buildings.some((b) => b.eui === 1515)).toBe(true); // "1,515"
    expect(parsed.buildings.filter((b) => b.building_use_type === null)).toHaveLength(21); // empty cells
    expect(parsed.sites.find((s) => s.site_id === 'Bobcat')).toMatchObject({ timezone: 'US/Mountain', lat: null });
  });
});

describe('parseMetadata rejects with a message naming the value and the fix', () => {
  it('unknown primaryspaceusage', () => {
    const result = parseMetadata(file(row({ primaryspaceusage: 'Spaceport' })));
    expect(result.buildings).toHaveLength(0);
    expect(result.problems[0]).toMatch(
      /line 2 \(Ant_office_A\): primaryspaceusage "Spaceport" has no building_use_type; add it to USE_TYPE_BY_BDG2 in sources\/bdg2\/metadata.ts/,
    );
  });

  it('unknown industry, bad numbers, bad time zone, bad meter flag, duplicate id', () => {
    const result = parseMetadata(
      file(
        row({ building_id: 'A', industry: 'Mining' }),
        row({ building_id: 'B', sqm: 'big' }),
        row({ building_id: 'C', timezone: 'Mars/Olympus' }),
        row({ building_id: 'D', gas: 'No' }),
        row({ building_id: 'E' }),
        row({ building_id: 'E' }),
        row({ building_id: 'F', lat: '12.0' }),
      ),
    );
    expect(result.buildings.map((b) => b.building_id)).toEqual(['E']);
    expect(result.problems.join('\n')).toMatchInlineSnapshot(`
      "metadata.csv line 2 (A): industry "Mining" has no industry_type; add it to INDUSTRY_BY_BDG2 in sources/bdg2/metadata.ts (and to the enum in a new migration)
      metadata.csv line 3 (B): column sqm: "big" is not a number
      metadata.csv line 4 (C): timezone "Mars/Olympus" is not an IANA time zone
      metadata.csv line 5 (D): column gas is "No"; expected "Yes" or empty
      metadata.csv line 7 (E): building_id E appears twice
      metadata.csv line 8 (F): lat and lng must both be present or both empty"
    `);
  });

  it('a file that is not BDG2 metadata', () => {
    expect(() => parseMetadata('a,b\n1,2\n', 'x.csv')).toThrow(/x.csv: missing column\(s\) building_id, site_id/);
  });

  it('the enum mapping covers 16 BDG2 values', () => {
    expect(Object.keys(USE_TYPE_BY_BDG2)).toHaveLength(16);
  });
});
