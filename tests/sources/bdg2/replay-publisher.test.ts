import { describe, expect, it } from 'vitest';
import type { RawReading, WeatherObservation } from '../../../domain/messages.js';
import type { ProduceRecord } from '../../../pipeline/broker.js';
import type { ReplayHour } from '../../../sources/bdg2/replay-events.js';
import { publishHours } from '../../../sources/bdg2/replay-publisher.js';

const H = 3_600_000;
const t0 = Date.parse('2017-03-12T05:00:00Z');

function hour(i: number, readings: number, weather = 1): ReplayHour {
  const time = new Date(t0 + i * H).toISOString();
  return {
    utcMs: t0 + i * H,
    weather: Array.from({ length: weather }, () => ({ site_id: 'Panther', time }) as WeatherObservation),
    readings: Array.from({ length: readings }, (_, k) => ({ meter_id: `B${k}:electricity`, time }) as RawReading),
  };
}

async function* iterate(hours: ReplayHour[]) {
  yield* hours;
}

function recorder() {
  const sends: ProduceRecord[][] = [];
  return { sends, producer: { send: async (records: readonly ProduceRecord[]) => void sends.push([...records]) } };
}

/** For each hour: index of the send holding its first reading must be > index of the send holding its weather. */
function assertWeatherFirst(sends: ProduceRecord[][]) {
  const weatherSend = new Map<string, number>();
  const readingSend = new Map<string, number>();
  sends.forEach((records, i) => {
    for (const r of records) {
      const { time } = JSON.parse(String(r.value)) as { time: string };
      const map = r.topic.endsWith('weather.raw.v1') ? weatherSend : readingSend;
      if (!map.has(time)) map.set(time, i);
    }
  });
  for (const [time, i] of readingSend) expect(weatherSend.get(time), time).toBeLessThan(i);
}

describe('publishHours', () => {
  it("max speed: batches, counts every message once, weather acknowledged before that hour's readings", async () => {
    const { sends, producer } = recorder();
    const hours = Array.from({ length: 50 }, (_, i) => hour(i, 7));
    const counts = await publishHours(iterate(hours), producer, { topicPrefix: 't1', speed: 'max', maxBatch: 40 });
    expect(counts.readings).toEqual({ topic: 't1.readings.raw.v1', count: 350 });
    expect(counts.weather).toEqual({ topic: 't1.weather.raw.v1', count: 50 });
    expect(sends.flat()).toHaveLength(400);
    expect(sends.length).toBeLessThan(50); // batched, not one send per hour
    assertWeatherFirst(sends);
  });

  it('keys readings by meter id and weather by site', async () => {
    const { sends, producer } = recorder();
    await publishHours(iterate([hour(0, 2)]), producer, { topicPrefix: 'p', speed: 'max' });
    expect(sends.flat().map((r) => [r.topic, r.key])).toEqual([
      ['p.weather.raw.v1', 'Panther'],
      ['p.readings.raw.v1', 'B0:electricity'],
      ['p.readings.raw.v1', 'B1:electricity'],
    ]);
  });

  it('paced speed: N hours per second, schedule-based sleeps', async () => {
    const { sends, producer } = recorder();
    let clock = 0;
    const sleeps: number[] = [];
    const counts = await publishHours(iterate([hour(0, 1), hour(1, 1), hour(2, 1), hour(3, 0, 0)]), producer, {
      topicPrefix: 'p',
      speed: 2,
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    });
    expect(sleeps).toEqual([500, 500, 500, 500]);
    expect(counts.readings.count).toBe(3);
    assertWeatherFirst(sends);
  });
});
