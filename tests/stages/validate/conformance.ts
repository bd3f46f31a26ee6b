import { createValidateStage } from '../../../stages/validate/stage.js';
import type { ConformanceCase } from '../../conformance/case.js';
import { baseCatalog, json, karla, now, reading } from './fixtures.js';

export const conformance: ConformanceCase = {
  make: () =>
    createValidateStage({
      loadCatalog: async () => baseCatalog(),
      now,
      config: { maxRecords: 5, catalogMissRefreshMs: 0 },
    }),
  samples: [
    { key: `${karla}:electricity`, value: json(reading()), expect: 'ok' },
    {
      key: `${karla}:electricity`,
      value: json(reading({ time: '2017-03-12T08:00:00Z', value: 46_208.9, unit: 'Wh' })),
      expect: 'ok',
    },
    // Same meter and hour as the first: a duplicate within the batch.
    { key: `${karla}:electricity`, value: json(reading({ time: '2017-03-12T07:00:00.000Z' })), expect: 'skip' },
    {
      key: `${karla}:electricity`,
      value: json(reading({ value: -1, time: '2017-03-12T09:00:00Z' })),
      expect: 'dead_letter',
    },
    {
      key: `${karla}:electricity`,
      value: json(reading({ value: 1e9, time: '2017-03-12T10:00:00Z' })),
      expect: 'dead_letter',
    },
    { key: `${karla}:electricity`, value: json(reading({ time: '2030-01-01T00:00:00Z' })), expect: 'dead_letter' },
    { key: `${karla}:electricity`, value: json(reading({ time: '1999-12-31T23:00:00Z' })), expect: 'dead_letter' },
    { key: `${karla}:electricity`, value: json(reading({ time: 'yesterday' })), expect: 'dead_letter' },
    {
      key: `${karla}:electricity`,
      value: json(reading({ unit: 'kW', time: '2017-03-12T11:00:00Z' })),
      expect: 'dead_letter',
    },
    {
      key: 'Rat_office_Lora:electricity',
      value: json(reading({ meter_id: 'Rat_office_Lora:electricity', building_id: 'Rat_office_Lora', site_id: 'Rat' })),
      expect: 'dead_letter',
    },
    { key: `${karla}:electricity`, value: json(reading({ source: undefined })), expect: 'dead_letter' },
    { key: `${karla}:electricity`, value: 'not json', expect: 'dead_letter' },
  ],
};
