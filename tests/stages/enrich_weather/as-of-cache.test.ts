import { describe, expect, it } from 'vitest';
import { AsOfCache } from '../../../stages/enrich_weather/as-of-cache.js';

const HOUR = 3_600_000;
const obs = (hour: number, temp: number) => ({ time: hour * HOUR, temp });

describe('AsOfCache', () => {
  it('joins a reading to the latest observation at or before its hour within the tolerance', () => {
    const cache = new AsOfCache<{ time: number; temp: number }>(3 * HOUR, 48 * HOUR);
    cache.put('Panther', obs(10, 1));
    cache.put('Panther', obs(12, 3));
    cache.put('Panther', obs(11, 2)); // out of order
    expect(cache.lookup('Panther', 11 * HOUR)?.temp).toBe(2);
    expect(cache.lookup('Panther', 11 * HOUR + 1800_000)?.temp).toBe(2);
    expect(cache.lookup('Panther', 15 * HOUR)?.temp).toBe(3);
    expect(cache.lookup('Panther', 15 * HOUR + 1)).toBeUndefined();
    expect(cache.lookup('Panther', 9 * HOUR)).toBeUndefined();
    expect(cache.lookup('Rat', 11 * HOUR)).toBeUndefined();
  });

  it('replaces an observation of the same hour instead of duplicating it', () => {
    const cache = new AsOfCache<{ time: number; temp: number }>(HOUR, 48 * HOUR);
    cache.put('s', obs(1, 1));
    cache.put('s', obs(1, 5));
    expect(cache.size()).toBe(1);
    expect(cache.lookup('s', HOUR)?.temp).toBe(5);
  });

  it('evicts observations older than the retention behind the newest', () => {
    const cache = new AsOfCache<{ time: number; temp: number }>(HOUR, 10 * HOUR);
    for (let h = 0; h < 100; h++) cache.put('s', obs(h, h));
    expect(cache.size()).toBe(11);
  });

  it('knows which sites have any weather', () => {
    const cache = new AsOfCache<{ time: number; temp: number }>(HOUR, 48 * HOUR);
    expect(cache.hasSite('s')).toBe(false);
    cache.put('s', obs(1, 1));
    expect(cache.hasSite('s')).toBe(true);
    expect(cache.hasSite('t')).toBe(false);
  });
});
