import { enrichReading, toCachedWeather } from '../../../stages/enrich_weather/enrich.js';
import { createWriteHypertableStage } from '../../../stages/write_hypertable/stage.js';
import type { ConformanceCase } from '../../conformance/case.js';
import { observation, reading } from '../enrich_weather/test-fixtures.js';

const json = (v: unknown) => JSON.stringify(v);
const enriched = enrichReading(reading, toCachedWeather(observation));

export const conformance: ConformanceCase = {
  make: ({ sql }) => createWriteHypertableStage({ sql, offsetsGroup: 'conformance' }),
  samples: [
    { key: enriched.meter_id, value: json(enriched), expect: 'ok' },
    {
      key: enriched.meter_id,
      value: json({ ...enriched, time: '2017-03-12T08:00:00Z', anomaly_score: 0.2, is_anomaly: false }),
      expect: 'ok',
    },
    { key: enriched.meter_id, value: json(reading), expect: 'dead_letter' }, // not enriched
  ],
};
