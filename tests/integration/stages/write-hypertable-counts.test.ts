/**
 * write_hypertable counts what each committed batch did to meter_readings — rows inserted,
 * updated, left unchanged — on the plain INSERT path and on the upsert, as its own counters on the
 * worker's registry (StageContext.metrics).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedReading } from '../../../domain/messages.js';
import { createRegistry, type Envelope, PipelineMetrics, type RawRecord } from '../../../pipeline/index.js';
import { enrichReading, toCachedWeather } from '../../../stages/enrich_weather/enrich.js';
import type { WritableReading } from '../../../stages/write_hypertable/rows.js';
import { createWriteHypertableStage } from '../../../stages/write_hypertable/stage.js';
import { observation, reading } from '../../stages/enrich_weather/test-fixtures.js';
import { createTestDatabase, type TestDatabase } from './pg-test-db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const HOUR = 3_600_000;
const base = enrichReading(reading, toCachedWeather(observation));
const hourly = (count: number, value: (i: number) => number): EnrichedReading[] =>
  Array.from({ length: count }, (_, i) => ({
    ...base,
    time: new Date(Date.parse('2016-03-01T00:00:00Z') + i * HOUR).toISOString().replace('.000Z', 'Z'),
    value: value(i),
  }));
let offset = 0;
const envelopes = (values: readonly WritableReading[]): Envelope<WritableReading>[] =>
  values.map((value) => ({
    value,
    raw: {
      topic: 'counts.in',
      partition: 0,
      offset: String(offset++),
      key: null,
      value: null,
      headers: {},
      timestamp: 0,
    },
  })) as { value: WritableReading; raw: RawRecord }[];

describe('write_hypertable row counters', () => {
  it('counts inserts, updates and unchanged rows on both write paths, labelled with the stage', async () => {
    const registry = createRegistry();
    const ctx = {
      stage: 'write_hypertable',
      log: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      metrics: PipelineMetrics.forRegistry(registry).stageMetrics('write_hypertable'),
    };
    const counts = async () => {
      const figures: Record<string, number> = {};
      for (const name of [
        'rows_inserted',
        'rows_updated',
        'rows_unchanged',
        'readings_corrected',
        'readings_superseded_in_batch',
      ]) {
        const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === `eaio_${name}_total`);
        const value = metric?.values.find((v) => v.labels.stage === 'write_hypertable')?.value;
        figures[name] = value ?? Number.NaN;
      }
      return figures;
    };
    const stage = createWriteHypertableStage({ sql: db.sql, offsetsGroup: 'g-counts' });

    await stage.process(envelopes(hourly(6, (i) => i)), ctx); // new: plain INSERT
    expect(await counts()).toEqual({
      rows_inserted: 6,
      rows_updated: 0,
      rows_unchanged: 0,
      readings_corrected: 0,
      readings_superseded_in_batch: 0,
    });

    // Two changed readings meet stored rows: the INSERT fails whole and the upsert updates them.
    await stage.process(envelopes(hourly(8, (i) => (i < 2 ? i + 100 : i)).slice(0, 2)), ctx);
    expect(await counts()).toEqual({
      rows_inserted: 6,
      rows_updated: 2,
      rows_unchanged: 0,
      readings_corrected: 2,
      readings_superseded_in_batch: 0,
    });
    // The upsert goes on for a while: two equal to the stored ones, two new.
    await stage.process(envelopes([...hourly(8, (i) => i).slice(2, 4), ...hourly(8, (i) => i).slice(6, 8)]), ctx);
    expect(await counts()).toEqual({
      rows_inserted: 8,
      rows_updated: 2,
      rows_unchanged: 2,
      readings_corrected: 2,
      readings_superseded_in_batch: 0,
    });
    // Two versions of one hour in one batch: the latest wins, counted as a correction like the others.
    const [hour] = hourly(9, (i) => i + 500).slice(8);
    await stage.process(envelopes([...hourly(9, (i) => i).slice(8), hour as WritableReading]), ctx);
    expect(await counts()).toEqual({
      rows_inserted: 9,
      rows_updated: 2,
      rows_unchanged: 2,
      readings_corrected: 2,
      readings_superseded_in_batch: 1,
    });

    const stored = await db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM meter_readings WHERE meter_id = ${base.meter_id}`;
    expect(stored[0]?.n).toBe(9);
  });
});
