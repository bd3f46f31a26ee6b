/**
 * End to end on the committed BDG2 sample, raw variant (zeros, a value at the non-existent
 * spring-forward hour, sites without weather): `eaio migrate`, `eaio import`, `eaio replay`, then
 * `eaio run validate enrich_weather score_anomaly write_hypertable --exit-when-idle` as a child process, against
 * a fresh database and a unique topic prefix. Then exact accounting, computed from the CSV files
 * independently of the replay code. A few hand-made bad readings ride along to prove that
 * rejects end as dead letters with the rule's specific code, and one reading in Wh to prove unit
 * normalisation through the whole pipeline.
 */
import { describe, expect, it } from 'vitest';
import { account, EXACT } from './accounting.js';
import { expectedFromBdg2, readingKey } from './bdg2-expected.js';
import { PIPELINE_STAGES, useE2eWorld } from './e2e-env.js';
import { produceRaw, readDeadLetters, readMeterReadings } from './pipeline-processes.js';

const SAMPLE = 'data/bdg2-sample';
const INJECTED = 'e2e:injected';
const karla = 'Panther_office_Karla';

const base = {
  schema_version: 1,
  meter_id: `${karla}:electricity`,
  building_id: karla,
  site_id: 'Panther',
  meter_type: 'electricity',
  unit: 'kWh',
  value: 10,
  source: INJECTED,
};
/** Outside the sample's period (2017-02-12 … 2017-03-19), so they never collide with its readings. */
const injected = [
  {
    code: 'unknown_building',
    value: {
      ...base,
      meter_id: 'Nobody_office_X:electricity',
      building_id: 'Nobody_office_X',
      site_id: undefined,
      time: '2016-06-01T00:00:00Z',
    },
  },
  { code: 'value_negative', value: { ...base, time: '2016-06-01T02:00:00Z', value: -3 } },
  { code: 'value_above_ceiling', value: { ...base, time: '2016-06-01T03:00:00Z', value: 5e6 } },
  { code: 'timestamp_in_future', value: { ...base, time: '2099-01-01T00:00:00Z' } },
  { code: 'timestamp_before_2000', value: { ...base, time: '1999-12-31T23:00:00Z' } },
  { code: 'unit_incompatible', value: { ...base, time: '2016-06-01T04:00:00Z', unit: 'kW' } },
] as const;
const goodInWh = { ...base, time: '2016-06-01T01:00:00Z', value: 5_000, unit: 'Wh' };

/** The stages joined by topics (one consumer group each), and the same stages chained in memory. */
const MODES = [
  { name: 'stages joined by topics', run: [...PIPELINE_STAGES], world: useE2eWorld() },
  { name: 'stages chained in memory', run: [PIPELINE_STAGES.join('+')], world: useE2eWorld() },
];

describe.each(MODES)(
  'BDG2 sample (raw) end to end: replay → validate → enrich_weather → score_anomaly → write_hypertable, $name',
  ({ run: stages, world }) => {
    it('accounts for every non-empty cell exactly: a row with the same value and weather, or a dead letter with a reason', async () => {
      const run = world().eaio;
      const sql = world().db.sql;
      const expected = expectedFromBdg2(SAMPLE, 'raw');
      // Guards the expectation itself: readings with and without weather are both really exercised.
      const withWeather = [...expected.readings.values()].filter((r) => r.weather !== null).length;
      expect(withWeather).toBeGreaterThan(4_000);
      expect(expected.readings.size - withWeather).toBeGreaterThan(3_000);

      await run.runOk(['migrate']);
      await run.runOk(['import', '--bdg2', SAMPLE]);
      const replay = await run.runOk(['replay', '--bdg2', SAMPLE, '--variant', 'raw']);
      expect(replay.stdout).toContain(`${run.prefix}.readings.raw.v1: ${expected.readings.size}\n`);
      // In the sample every cell of the spring-forward hour is empty (only weather has one), so every cell is a reading.
      expect(expected.nonexistentLocalTime).toBe(0);
      expect(expected.readings.size).toBe(expected.cells);

      await produceRaw(run.prefix, [
        ...injected.map((i) => ({ key: i.value.meter_id, value: i.value })),
        { key: goodInWh.meter_id, value: goodInWh },
        { key: `${karla}:electricity`, value: '{"schema_version":1,"meter_id":' },
      ]);

      await run.runOk(['run', ...stages, '--exit-when-idle'], 100_000);
      // `eaio status` shows what ran (a chain under its own name) with nothing left to consume.
      const status = JSON.parse((await run.runOk(['status', '--json'])).stdout) as { stage: string; lag: number }[];
      for (const name of stages) expect(status.find((s) => s.stage === name)).toMatchObject({ lag: 0 });

      const rows = await readMeterReadings(sql);
      const deadLetters = (await Promise.all(PIPELINE_STAGES.map((stage) => readDeadLetters(run, stage)))).flat();
      const isInjected = (source: string | undefined) => source === undefined || source === INJECTED;
      const injectedDead = deadLetters.filter((d) => isInjected(d.source));
      const injectedKey = readingKey(goodInWh.meter_id, goodInWh.time);

      expect(
        account(
          expected,
          rows.filter((r) => readingKey(r.meter_id, r.time) !== injectedKey),
          deadLetters.filter((d) => !isInjected(d.source)),
        ),
      ).toEqual(EXACT);
      expect(rows.length + deadLetters.length - injectedDead.length - 1).toBe(expected.readings.size);

      expect(injectedDead.map((d) => `${d.stage}:${d.code}`).sort()).toEqual(
        [...injected.map((i) => `validate:${i.code}`), 'validate:invalid_json'].sort(),
      );
      for (const dead of injectedDead) expect(dead.message.length).toBeGreaterThan(0);
      const wh = rows.find((r) => readingKey(r.meter_id, r.time) === injectedKey);
      expect(wh).toMatchObject({ value: 5, unit: 'kWh' });

      // score_anomaly scored every stored reading, and each flagged one is in anomalies once.
      const [scores] = await sql<{ unscored: number; out_of_range: number; flag_mismatch: number; flagged: number }[]>`
        SELECT count(*) FILTER (WHERE anomaly_score IS NULL OR is_anomaly IS NULL)::int AS unscored,
               count(*) FILTER (WHERE anomaly_score < 0 OR anomaly_score > 1)::int AS out_of_range,
               count(*) FILTER (WHERE is_anomaly <> (anomaly_score >= 0.5))::int AS flag_mismatch,
               count(*) FILTER (WHERE is_anomaly)::int AS flagged
          FROM meter_readings`;
      expect(scores).toMatchObject({ unscored: 0, out_of_range: 0, flag_mismatch: 0 });
      const [anomalies] = await sql<{ n: number; unmatched: number }[]>`
        SELECT count(*)::int AS n,
               count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM meter_readings m
                 WHERE m.meter_id = a.meter_id AND m.time = a.time AND m.is_anomaly AND m.anomaly_score = a.anomaly_score))::int AS unmatched
          FROM anomalies a`;
      expect(anomalies).toEqual({ n: scores?.flagged, unmatched: 0 });
      // The raw sample has zeros and flat stretches: some readings are flagged, far from all.
      expect(scores?.flagged).toBeGreaterThan(0);
      expect(scores?.flagged).toBeLessThan(rows.length / 10);

      // The worker refreshed the roll-ups as it stopped: a short run leaves them fresh, not empty.
      for (const view of ['meter_readings_hourly', 'meter_readings_daily']) {
        const [rollup] = await sql<{ n: number }[]>`SELECT coalesce(sum(reading_count), 0)::int AS n FROM ${sql(view)}`;
        expect(rollup?.n, view).toBe(rows.length);
      }
    });
  },
);
