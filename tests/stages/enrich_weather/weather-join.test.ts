import { describe, expect, it } from 'vitest';
import { AsOfCache } from '../../../stages/enrich_weather/as-of-cache.js';
import type { CachedWeather } from '../../../stages/enrich_weather/enrich.js';
import { WeatherJoin } from '../../../stages/enrich_weather/weather-join.js';
import type { AsOfAnswer, WeatherQuery, WeatherSource } from '../../../stages/enrich_weather/weather-store.js';

const HOUR = 3_600_000;
const TOLERANCE = 3 * HOUR;
const weather = (hour: number, temp: number): CachedWeather => ({
  time: hour * HOUR,
  air_temperature: temp,
  cloud_coverage: null,
  dew_temperature: null,
  precip_depth_1h: null,
  sea_level_pressure: null,
  wind_direction: null,
  wind_speed: null,
});

/** A store holding `rows` per site, answering with the same as-of rule as the SQL; records its calls. */
class FakeStore implements WeatherSource {
  readonly calls: WeatherQuery[][] = [];
  constructor(readonly rows: Record<string, CachedWeather[]> = {}) {}
  async asOf(queries: readonly WeatherQuery[], toleranceMs: number): Promise<readonly AsOfAnswer[]> {
    this.calls.push([...queries]);
    return queries.map(({ site, time }) => {
      const series = this.rows[site] ?? [];
      const match = series
        .filter((w) => w.time <= time && time - w.time <= toleranceMs)
        .sort((a, b) => b.time - a.time)[0];
      const hasLater = series.some((w) => w.time >= time);
      return match ? { match, hasLater } : { hasLater };
    });
  }
}

const setup = (store = new FakeStore()) => {
  const cache = new AsOfCache<CachedWeather>(TOLERANCE, 72 * HOUR);
  return { cache, store, join: new WeatherJoin(cache, store) };
};

describe('WeatherJoin', () => {
  it('answers from the cache alone when the hour (or a later one) is there', async () => {
    const { cache, store, join } = setup();
    cache.put('Panther', weather(10, 1));
    cache.put('Panther', weather(12, 3));
    const answers = await join.lookup(
      [
        { site: 'Panther', time: 10 * HOUR },
        { site: 'Panther', time: 11 * HOUR },
      ],
      TOLERANCE,
    );
    expect(answers.map((a) => a.match?.air_temperature)).toEqual([1, 1]);
    expect(answers.map((a) => a.settled)).toEqual([true, true]);
    expect(store.calls).toEqual([]);
  });

  it('falls back to the store for sites the cache does not hold, and leaves the cache to its own weather', async () => {
    const { cache, store, join } = setup(new FakeStore({ Rat: [weather(5, 7), weather(9, 8)] }));
    const [answer] = await join.lookup([{ site: 'Rat', time: 6 * HOUR }], TOLERANCE);
    expect(answer).toMatchObject({ match: { air_temperature: 7 }, settled: true });
    expect(store.calls).toHaveLength(1);
    expect(cache.lookup('Rat', 6 * HOUR)).toBeUndefined();
  });

  it('a later hour found in the store does not let the cache settle an earlier reading with an older hour', async () => {
    // This member cached hour 100; another member stored hours 101 to 103.
    const { cache, join } = setup(new FakeStore({ Panther: [100, 101, 102, 103].map((h) => weather(h, h)) }));
    cache.put('Panther', weather(100, 100));
    await join.lookup([{ site: 'Panther', time: 103 * HOUR }], TOLERANCE);
    const [answer] = await join.lookup([{ site: 'Panther', time: 102 * HOUR }], TOLERANCE);
    expect(answer).toMatchObject({ match: { air_temperature: 102 }, settled: true });
  });

  it('weather stored while a store answer is in flight is not overridden by that answer', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const rows = { Panther: [weather(9, 1)] };
    const inner = new FakeStore(rows);
    const slow: WeatherSource = {
      async asOf(queries, toleranceMs) {
        const answers = await inner.asOf(queries, toleranceMs); // read before the correction …
        await held; // … answered after it
        return answers;
      },
    };
    const cache = new AsOfCache<CachedWeather>(TOLERANCE, 72 * HOUR);
    const join = new WeatherJoin(cache, slow, 60_000, () => 0);
    const pending = join.lookup([{ site: 'Panther', time: 10 * HOUR }], TOLERANCE);
    const corrected = weather(9, 2); // this member stores a corrected hour 9 meanwhile
    rows.Panther = [corrected];
    cache.put('Panther', corrected);
    join.weatherArrived('Panther', corrected);
    release();
    await pending;
    const [next] = await join.lookup([{ site: 'Panther', time: 11 * HOUR }], TOLERANCE);
    expect(next?.match?.air_temperature).toBe(2);
    expect(inner.calls).toHaveLength(2); // the racing answer taught nothing: asked again
  });

  it('asks the store once per distinct site and hour', async () => {
    const { store, join } = setup(new FakeStore({ Rat: [weather(5, 7), weather(9, 8)] }));
    await join.lookup(
      [
        { site: 'Rat', time: 6 * HOUR },
        { site: 'Rat', time: 6 * HOUR },
        { site: 'Rat', time: 7 * HOUR },
      ],
      TOLERANCE,
    );
    expect(store.calls[0]).toHaveLength(2);
  });

  it('a gap longer than the tolerance with later weather known is settled as missing (no use waiting)', async () => {
    const { join } = setup(new FakeStore({ Rat: [weather(1, 1), weather(20, 2)] }));
    const [answer] = await join.lookup([{ site: 'Rat', time: 10 * HOUR }], TOLERANCE);
    expect(answer).toEqual({ match: undefined, settled: true });
  });

  it('the newest hours are unsettled: a match within the tolerance, but the hour itself may still come', async () => {
    const { cache, join } = setup();
    cache.put('Panther', weather(9, 1));
    const answers = await join.lookup(
      [
        { site: 'Panther', time: 10 * HOUR },
        { site: 'Bobcat', time: 10 * HOUR },
      ],
      TOLERANCE,
    );
    expect(answers).toEqual([
      { match: expect.objectContaining({ air_temperature: 1 }), settled: false },
      { match: undefined, settled: false },
    ]);
    cache.put('Panther', weather(10, 2));
    const [later] = await join.lookup([{ site: 'Panther', time: 10 * HOUR }], TOLERANCE);
    expect(later).toMatchObject({ match: { air_temperature: 2 }, settled: true });
  });

  it('does not ask the store again about a site it had nothing for, until the answer is stale or weather came', async () => {
    let now = 0;
    const store = new FakeStore({ Panther: [weather(1, 1)] });
    const cache = new AsOfCache<CachedWeather>(TOLERANCE, 72 * HOUR);
    const join = new WeatherJoin(cache, store, 5_000, () => now);
    const ask = (hour: number) => join.lookup([{ site: 'Rat', time: hour * HOUR }], TOLERANCE);
    await ask(10);
    await ask(11); // later hour, 0 s later: known empty
    expect(store.calls).toHaveLength(1);
    await ask(6); // before the known-empty stretch (10 h − 3 h): asked
    expect(store.calls).toHaveLength(2);
    now = 5_000; // stale: another member may have stored Rat's weather meanwhile
    await ask(12);
    expect(store.calls).toHaveLength(3);
    await ask(13); // known empty again (asked at 5 s) …
    expect(store.calls).toHaveLength(3);
    await join.lookup([{ site: 'Rat', time: 13 * HOUR }], TOLERANCE, { fresh: true }); // … unless fresh
    expect(store.calls).toHaveLength(4);
    join.weatherArrived('Rat', weather(20, 5)); // stored by this member: the edge moves past hour 20
    const answers = await ask(12); // before the edge now: asked
    expect(store.calls).toHaveLength(5);
    expect(answers[0]).toEqual({ match: undefined, settled: false });
  });

  it('at the live edge a later batch does not ask again: the store had nothing after its match', async () => {
    let now = 0;
    const store = new FakeStore({ Panther: [weather(8, 1)] });
    // A cache that keeps almost nothing, so the edge alone has to carry the match.
    const cache = new AsOfCache<CachedWeather>(TOLERANCE, 0);
    const join = new WeatherJoin(cache, store, 1_000, () => now);
    const ask = (hour: number) => join.lookup([{ site: 'Panther', time: hour * HOUR }], TOLERANCE);
    expect(await ask(9)).toEqual([{ match: expect.objectContaining({ air_temperature: 1 }), settled: false }]);
    expect(store.calls).toHaveLength(1);
    // Later hours, same second: the answer is known (hour 8 within 3 h, then nothing), no round trip.
    expect(await ask(10)).toEqual([{ match: expect.objectContaining({ air_temperature: 1 }), settled: false }]);
    expect(await ask(12)).toEqual([{ match: undefined, settled: false }]);
    expect(store.calls).toHaveLength(1);

    // Weather this member stores moves the edge; it is known even once the cache dropped it.
    const eleven = weather(11, 2);
    store.rows.Panther?.push(eleven);
    join.weatherArrived('Panther', eleven);
    cache.put('Panther', weather(40, 3)); // evicts hour 11 from the cache
    expect(await ask(12)).toEqual([{ match: expect.objectContaining({ air_temperature: 2 }), settled: false }]);
    expect(store.calls).toHaveLength(1);

    expect((await ask(7))[0]?.match).toBeUndefined(); // before the edge: asked
    expect(store.calls).toHaveLength(2);
    now = 1_000; // stale: another member may have stored weather meanwhile
    await ask(13);
    expect(store.calls).toHaveLength(3);
  });

  it('a fresh answer replaces what was known: later weather stored elsewhere ends the edge', async () => {
    const store = new FakeStore({ Panther: [weather(8, 1)] });
    const join = new WeatherJoin(new AsOfCache<CachedWeather>(TOLERANCE, 72 * HOUR), store, 60_000, () => 0);
    await join.lookup([{ site: 'Panther', time: 9 * HOUR }], TOLERANCE);
    store.rows.Panther?.push(weather(10, 2)); // another member stored hour 10
    const [fresh] = await join.lookup([{ site: 'Panther', time: 9 * HOUR }], TOLERANCE, { fresh: true });
    expect(fresh?.settled).toBe(true); // hour 10 exists: waiting cannot improve hour 9
    const [next] = await join.lookup([{ site: 'Panther', time: 10 * HOUR }], TOLERANCE);
    expect(next).toMatchObject({ match: { air_temperature: 2 }, settled: true });
    expect(store.calls).toHaveLength(3);
  });
});
