import { afterEach, describe, expect, it, vi } from 'vitest';
import { AsOfCache } from './as-of-cache.js';
import type { CachedWeather } from './enrich.js';
import { WeatherJoin } from './weather-join.js';
import type { AsOfAnswer, WeatherQuery, WeatherSource } from './weather-store.js';

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

afterEach(() => {
  vi.useRealTimers();
});

describe('WeatherJoin', () => {
  it('answers from the cache alone when the hour (or a later one) is there', async () => {
    const { cache, store, join } = setup();
    cache.put('Panther', weather(10, 1));
    cache.put('Panther', weather(12, 3));
    const matches = await join.match(
      [
        { site: 'Panther', time: 10 * HOUR },
        { site: 'Panther', time: 11 * HOUR },
      ],
      { toleranceMs: TOLERANCE, maxWaitMs: 60_000 },
    );
    expect(matches.map((m) => m?.air_temperature)).toEqual([1, 1]);
    expect(store.calls).toEqual([]);
  });

  it('falls back to the store for sites the cache does not hold, and caches what it found', async () => {
    const { cache, store, join } = setup(new FakeStore({ Rat: [weather(5, 7), weather(9, 8)] }));
    const [match] = await join.match([{ site: 'Rat', time: 6 * HOUR }], { toleranceMs: TOLERANCE, maxWaitMs: 60_000 });
    expect(match?.air_temperature).toBe(7);
    expect(store.calls).toHaveLength(1);
    expect(cache.lookup('Rat', 6 * HOUR)?.air_temperature).toBe(7);
  });

  it('asks the store once per distinct site and hour', async () => {
    const { store, join } = setup(new FakeStore({ Rat: [weather(5, 7), weather(9, 8)] }));
    await join.match(
      [
        { site: 'Rat', time: 6 * HOUR },
        { site: 'Rat', time: 6 * HOUR },
        { site: 'Rat', time: 7 * HOUR },
      ],
      { toleranceMs: TOLERANCE, maxWaitMs: 0 },
    );
    expect(store.calls[0]).toHaveLength(2);
  });

  it('a gap longer than the tolerance with later weather known is missing at once, without waiting', async () => {
    const { join } = setup(new FakeStore({ Rat: [weather(1, 1), weather(20, 2)] }));
    // maxWait is an hour: if the join waited, the test would time out.
    const [match] = await join.match([{ site: 'Rat', time: 10 * HOUR }], { toleranceMs: TOLERANCE, maxWaitMs: HOUR });
    expect(match).toBeUndefined();
  });

  it('a reading whose weather arrives while it waits gets that weather', async () => {
    const { cache, join } = setup();
    cache.put('Panther', weather(9, 1));
    const pending = join.match([{ site: 'Panther', time: 10 * HOUR }], { toleranceMs: TOLERANCE, maxWaitMs: HOUR });
    await new Promise((r) => setImmediate(r));
    cache.put('Panther', weather(10, 2));
    expect((await pending)[0]?.air_temperature).toBe(2);
  });

  it('all sites of a batch share one wait: after maxWait everything goes on with the best match so far', async () => {
    vi.useFakeTimers();
    const { cache, store, join } = setup();
    cache.put('Panther', weather(9, 1));
    const pending = join.match(
      [
        { site: 'Panther', time: 10 * HOUR },
        { site: 'Rat', time: 10 * HOUR },
        { site: 'Bobcat', time: 10 * HOUR },
      ],
      { toleranceMs: TOLERANCE, maxWaitMs: 2_000 },
    );
    await vi.advanceTimersByTimeAsync(2_000);
    const matches = await pending;
    expect(matches.map((m) => m?.air_temperature)).toEqual([1, undefined, undefined]);
    // Before and after the wait: another member may have stored the weather meanwhile.
    expect(store.calls).toHaveLength(2);
  });

  it('stops waiting when the signal aborts (shutdown)', async () => {
    const { join } = setup();
    const abort = new AbortController();
    const pending = join.match([{ site: 'Panther', time: 10 * HOUR }], {
      toleranceMs: TOLERANCE,
      maxWaitMs: HOUR,
      signal: abort.signal,
    });
    await new Promise((r) => setImmediate(r));
    abort.abort();
    expect(await pending).toEqual([undefined]);
  });
});
