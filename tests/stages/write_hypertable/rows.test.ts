import { describe, expect, it } from 'vitest';
import type { RawRecord } from '../../../pipeline/index.js';
import { enrichReading, toCachedWeather } from '../../../stages/enrich_weather/enrich.js';
import {
  latestPerMeterHour,
  latestPerMeterHourCounted,
  monthsOf,
  nextOffsets,
  ROW_COLUMNS,
  toMeterReadingRow,
  WritableReadingSchema,
} from '../../../stages/write_hypertable/rows.js';
import { observation, reading } from '../enrich_weather/test-fixtures.js';

const enriched = enrichReading(reading, toCachedWeather(observation));
const raw = (topic: string, partition: number, offset: string) => ({ raw: { topic, partition, offset } as RawRecord });

describe('toMeterReadingRow', () => {
  it('maps every column of an enriched reading, with no anomaly score yet', () => {
    const row = toMeterReadingRow(WritableReadingSchema.parse(enriched));
    expect(Object.keys(row)).toEqual([...ROW_COLUMNS]);
    expect(row).toMatchObject({
      time: '2017-03-12T07:00:00Z',
      meter_id: 'Panther_office_Karla:electricity',
      meter_type: 'electricity',
      value: 46.2,
      air_temperature: 21.1,
      cloud_coverage: null,
      anomaly_score: null,
      is_anomaly: null,
    });
  });

  it('keeps the anomaly score of a scored reading', () => {
    const row = toMeterReadingRow(WritableReadingSchema.parse({ ...enriched, anomaly_score: 0.93, is_anomaly: true }));
    expect(row).toMatchObject({ anomaly_score: 0.93, is_anomaly: true });
  });
});

describe('latestPerMeterHour', () => {
  it('keeps the last version of a meter hour, whatever its time spelling', () => {
    const first = toMeterReadingRow({ ...enriched, value: 1 });
    const other = toMeterReadingRow({ ...enriched, time: '2017-03-12T08:00:00Z', value: 2 });
    const again = toMeterReadingRow({ ...enriched, time: '2017-03-12T07:00:00.000Z', value: 3 });
    expect(latestPerMeterHour([first, other, again]).map((r) => r.value)).toEqual([3, 2]);
  });

  it('counts an earlier, different version of a meter hour as superseded; an identical repeat, however its time is written, not', () => {
    const first = toMeterReadingRow({ ...enriched, value: 1 });
    const repeat = toMeterReadingRow({ ...enriched, time: enriched.time.replace('Z', '.000Z'), value: 1 });
    const corrected = toMeterReadingRow({ ...enriched, value: 4 });
    expect(latestPerMeterHourCounted([first, repeat]).superseded).toBe(0);
    const result = latestPerMeterHourCounted([first, repeat, corrected]);
    expect(result.superseded).toBe(1);
    expect(result.rows.map((r) => r.value)).toEqual([4]);
  });
});

describe('nextOffsets', () => {
  it('is the highest offset + 1 per topic and partition, compared as integers', () => {
    const offsets = nextOffsets([
      raw('t', 0, '9'),
      raw('t', 0, '10'),
      raw('t', 1, '3'),
      raw('u', 0, '99999999999999999'),
    ]);
    expect(offsets).toEqual([
      { topic: 't', partition: 0, offset: '11' },
      { topic: 't', partition: 1, offset: '4' },
      { topic: 'u', partition: 0, offset: '100000000000000000' },
    ]);
  });

  it('is empty for an empty batch', () => {
    expect(nextOffsets([])).toEqual([]);
  });
});

describe('monthsOf', () => {
  it('lists the UTC months of the rows once, in order', () => {
    const times = ['2016-02-01T00:00:00Z', '2016-01-31T23:00:00Z', '2016-02-29T05:00:00Z', '2016-01-01T00:00:00Z'];
    expect(monthsOf(times.map((time) => ({ time })))).toEqual(['2016-01', '2016-02']);
  });
});
