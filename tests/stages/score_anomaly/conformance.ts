import { enrichReading, toCachedWeather } from '../../../stages/enrich_weather/enrich.js';
import { createScoreAnomalyStage } from '../../../stages/score_anomaly/stage.js';
import type { ConformanceCase } from '../../conformance/case.js';
import { observation, reading } from '../enrich_weather/test-fixtures.js';

const json = (v: unknown) => JSON.stringify(v);
const withWeather = enrichReading(reading, toCachedWeather(observation));
const noWeather = enrichReading({ ...reading, time: '2017-03-12T08:00:00Z' }, undefined);

export const conformance: ConformanceCase = {
  // An empty catalog and no stored readings: every meter is cold, and is scored all the same.
  make: ({ sql }) => createScoreAnomalyStage({ sql, partitionCount: 1 }),
  samples: [
    { key: withWeather.meter_id, value: json(withWeather), expect: 'ok' },
    { key: noWeather.meter_id, value: json(noWeather), expect: 'ok' },
    {
      key: 'Nobody_office_X:electricity',
      value: json({
        ...withWeather,
        meter_id: 'Nobody_office_X:electricity',
        building_id: 'Nobody_office_X',
        value: 0,
      }),
      expect: 'ok',
    },
    { key: withWeather.meter_id, value: json(reading), expect: 'dead_letter' }, // not enriched
  ],
};
