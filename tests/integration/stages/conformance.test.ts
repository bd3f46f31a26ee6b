/**
 * The stage conformance suite for the PostgreSQL-backed stages (here, not next to the stages,
 * because they need the database). Samples are well-formed records only: a batch with a bad
 * record makes these stages throw so that the runner isolates it (covered in their own tests),
 * which the suite's direct `process` call does not model.
 */
import { afterAll, beforeAll } from 'vitest';
import { enrichReading, toCachedWeather } from '../../../stages/enrich_weather/enrich.js';
import { createEnrichWeatherStage } from '../../../stages/enrich_weather/stage.js';
import { createWriteHypertableStage } from '../../../stages/write_hypertable/stage.js';
import { runStageConformance } from '../../conformance/stage-conformance.js';
import { observation, reading } from '../../stages/enrich_weather/test-fixtures.js';
import { createTestDatabase, type TestDatabase } from './pg-test-db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const json = (v: unknown) => JSON.stringify(v);

runStageConformance('enrich_weather', () => createEnrichWeatherStage({ sql: db.sql, config: { maxWaitMs: 0 } }), [
  { key: 'Panther', value: json(observation), expect: 'ok' },
  { key: 'Rat', value: json({ ...observation, site_id: 'Rat', air_temperature: null }), expect: 'ok' },
  { key: 'Panther', value: json(reading), expect: 'dead_letter' }, // a reading on the weather topic
]);

const enriched = enrichReading(reading, toCachedWeather(observation));
runStageConformance(
  'write_hypertable',
  () => createWriteHypertableStage({ sql: db.sql, offsetsGroup: 'conformance' }),
  [
    { key: enriched.meter_id, value: json(enriched), expect: 'ok' },
    {
      key: enriched.meter_id,
      value: json({ ...enriched, time: '2017-03-12T08:00:00Z', anomaly_score: 0.2, is_anomaly: false }),
      expect: 'ok',
    },
    { key: enriched.meter_id, value: json(reading), expect: 'dead_letter' }, // not enriched
  ],
);
