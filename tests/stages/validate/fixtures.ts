import { catalogFrom } from '../../../stages/validate/catalog.js';

export const now = () => new Date('2017-03-20T12:00:00Z');
export const karla = 'Panther_office_Karla';
export const baseCatalog = () =>
  catalogFrom(
    [[karla, { siteId: 'Panther' }]],
    [[`${karla}:electricity`, { buildingId: karla, meterType: 'electricity' as const }]],
  );

export const reading = (overrides: Record<string, unknown> = {}) => ({
  schema_version: 1,
  meter_id: `${karla}:electricity`,
  building_id: karla,
  site_id: 'Panther',
  meter_type: 'electricity',
  time: '2017-03-12T07:00:00Z',
  value: 46.2089,
  unit: 'kWh',
  source: 'bdg2:raw',
  ...overrides,
});
export const json = (o: object) => JSON.stringify(o);
