import { createEnrichWeatherStage } from '../../../stages/enrich_weather/stage.js';
import type { ConformanceCase } from '../../conformance/case.js';
import { observation, reading } from './test-fixtures.js';

const json = (v: unknown) => JSON.stringify(v);

// Well-formed records only: a batch with a bad record makes PostgreSQL-backed stages throw so that
// the runner isolates it (covered in their own tests), which the suite's direct `process` call does not model.
export const conformance: ConformanceCase = {
  make: ({ sql }) => createEnrichWeatherStage({ sql, config: { maxWaitMs: 0 } }),
  samples: [
    { key: 'Panther', value: json(observation), expect: 'ok' },
    { key: 'Rat', value: json({ ...observation, site_id: 'Rat', air_temperature: null }), expect: 'ok' },
    { key: 'Panther', value: json(reading), expect: 'dead_letter' }, // a reading on the weather topic
  ],
};
