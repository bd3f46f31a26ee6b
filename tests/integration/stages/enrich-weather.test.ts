import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedReading, ValidatedReading, WeatherObservation } from '../../../domain/messages.js';
import { type Envelope, type RawRecord, readDeadLetter } from '../../../pipeline/index.js';
import type { EnrichInput } from '../../../stages/enrich_weather/input.js';
import { createEnrichWeatherStage } from '../../../stages/enrich_weather/stage.js';
import { WeatherStore } from '../../../stages/enrich_weather/weather-store.js';
import { observation, reading } from '../../stages/enrich_weather/test-fixtures.js';
import { createTestDatabase, eventually, memoryRuntime, type TestDatabase } from './pg-test-db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const T0 = Date.parse('2016-05-01T00:00:00Z');
const weatherAt = (site: string, hour: number, temp: number): WeatherObservation => ({
  ...observation,
  site_id: site,
  time: iso(T0 + hour * HOUR),
  air_temperature: temp,
});
const readingAt = (site: string, hour: number): ValidatedReading => ({
  ...reading,
  site_id: site,
  building_id: site === 'Rat' ? 'Rat_public_Ulysses' : reading.building_id,
  meter_id: site === 'Rat' ? 'Rat_public_Ulysses:electricity' : reading.meter_id,
  time: iso(T0 + hour * HOUR),
});

const ctx = { stage: 'enrich_weather', log: pino({ level: 'silent' }), signal: new AbortController().signal };
const readingEnvelopes = (values: readonly ValidatedReading[]): Envelope<EnrichInput>[] =>
  values.map((r, i) => ({
    value: { kind: 'reading', reading: r },
    raw: { topic: 'x.readings.validated.v1', partition: 0, offset: String(i) } as RawRecord,
  }));
const outputsOf = (results: readonly { kind: string; outputs?: readonly { value: EnrichedReading }[] }[]) =>
  results.flatMap((r) => r.outputs ?? []).map((o) => o.value);

describe('enrich_weather on PostgreSQL', () => {
  it('joins as of the hour from weather_observations: warmed cache for recent hours, the table for older ones', async () => {
    // Panther: hours 0..99 every hour except 50..57 (a gap longer than the 3 h tolerance).
    const rows = Array.from({ length: 100 }, (_, h) => h).filter((h) => h < 50 || h > 57);
    await new WeatherStore(db.sql).upsert(rows.map((h) => weatherAt('Panther', h, h)));
    // Only the last 10 hours per site are kept in memory; hour 5 must come from the table.
    const stage = createEnrichWeatherStage({ sql: db.sql, config: { cacheRetentionMs: 10 * HOUR, maxWaitMs: 60_000 } });
    await stage.init?.(ctx);
    const hours = [95, 5, 52, 54, 58];
    const enriched = outputsOf(await stage.process(readingEnvelopes(hours.map((h) => readingAt('Panther', h))), ctx));
    expect(enriched.map((r) => r.air_temperature)).toEqual([95, 5, 49, null, 58]);
    expect(enriched.map((r) => r.weather_missing)).toEqual([false, false, false, true, false]);
    expect(enriched[2]?.weather_time).toBe(iso(T0 + 49 * HOUR));
    await stage.close?.();
  });

  it('the store answers the as-of join and whether a later observation exists, at the live edge too', async () => {
    const T1 = Date.parse('2016-09-01T00:00:00Z');
    const at = (hour: number) => T1 + hour * HOUR;
    const store = new WeatherStore(db.sql);
    await store.upsert([0, 1, 3].map((h) => ({ ...weatherAt('Panther', 0, h), time: iso(at(h)) })));
    const answers = await store.asOf(
      [
        { site: 'Panther', time: at(1) }, // own hour
        { site: 'Panther', time: at(2) }, // gap: hour 1, and hour 3 exists
        { site: 'Panther', time: at(3) }, // own hour, the newest: it counts as later-or-equal
        { site: 'Panther', time: at(4) }, // live edge: hour 3, nothing later
        { site: 'Panther', time: at(10) }, // beyond the tolerance, nothing later
        { site: 'Panther', time: at(-1) }, // before the first: nothing yet, later ones exist
        { site: 'Rat', time: at(1) }, // a site without weather
      ],
      3 * HOUR,
    );
    expect(answers.map((a) => [a.match?.air_temperature ?? null, a.hasLater])).toEqual([
      [1, true],
      [1, true],
      [3, true],
      [3, false],
      [null, false],
      [null, true],
      [null, false],
    ]);
  });

  it('through the runner: weather arriving after its reading is joined; weather is stored; a bad observation is dead-lettered alone', async () => {
    const { broker, run } = memoryRuntime(2);
    // Generous wait: the weather below is what ends it (if it did not, the reading would come out weather_missing).
    const runner = await run(createEnrichWeatherStage({ sql: db.sql, config: { maxWaitMs: 5_000 } }));
    broker.append({ topic: 't.readings.validated.v1', key: 'm', value: JSON.stringify(readingAt('Rat', 500)) });
    await eventually(() => runner.assignedPartitions().length > 0, 'assignment');
    await new Promise((r) => setTimeout(r, 50)); // let the reading start waiting
    for (const w of [weatherAt('Nowhere', 500, 1), weatherAt('Rat', 499, 10), weatherAt('Rat', 500, 11)]) {
      broker.append({ topic: 't.weather.raw.v1', key: 'all-weather', value: JSON.stringify(w) });
    }
    await eventually(
      async () => (await broker.readTopic('t.readings.enriched.v1')).length === 1,
      'the enriched reading',
    );
    const [out] = (await broker.readTopic('t.readings.enriched.v1')).map(
      (r) => JSON.parse(String(r.value)) as EnrichedReading,
    );
    expect(out).toMatchObject({
      site_id: 'Rat',
      air_temperature: 11,
      weather_missing: false,
      weather_time: iso(T0 + 500 * HOUR),
    });

    await eventually(
      async () => (await broker.readTopic('t.dlq.enrich_weather.v1')).length === 1,
      'the dead-lettered observation',
    );
    const dead = readDeadLetter((await broker.readTopic('t.dlq.enrich_weather.v1'))[0] as RawRecord);
    expect(dead?.code).toBe('pg_23503');
    await eventually(async () => {
      const stored =
        await db.sql`SELECT count(*) AS n FROM weather_observations WHERE site_id = 'Rat' AND time >= ${iso(T0 + 499 * HOUR)}`;
      return Number(stored[0]?.n) === 2;
    }, 'weather stored');
    await runner.stop();
    expect(runner.fatal).toBeUndefined();
  });

  it('a reading whose weather never comes passes on after the max wait with weather_missing', async () => {
    const { broker, run } = memoryRuntime(1);
    const runner = await run(createEnrichWeatherStage({ sql: db.sql, config: { maxWaitMs: 200 } }));
    broker.append({ topic: 't.readings.validated.v1', key: 'm', value: JSON.stringify(readingAt('Panther', 9_000)) });
    await eventually(
      async () => (await broker.readTopic('t.readings.enriched.v1')).length === 1,
      'the reading, without weather',
    );
    const [out] = (await broker.readTopic('t.readings.enriched.v1')).map(
      (r) => JSON.parse(String(r.value)) as EnrichedReading,
    );
    expect(out).toMatchObject({
      value: reading.value,
      weather_missing: true,
      weather_time: null,
      air_temperature: null,
    });
    await runner.stop();
  });
});
