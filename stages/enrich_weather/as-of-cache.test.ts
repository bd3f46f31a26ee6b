import { describe, expect, it } from 'vitest';
import { AsOfCache } from './as-of-cache.js';

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

  it('wakes a waiting reading when its weather arrives', async () => {
    const cache = new AsOfCache<{ time: number; temp: number }>(3 * HOUR, 48 * HOUR);
    const waiting = cache.waitFor('s', 5 * HOUR, 60_000);
    setTimeout(() => cache.put('s', obs(5, 7)), 5);
    expect((await waiting)?.temp).toBe(7);
  });

  it('gives up after the bounded wait and returns what matches', async () => {
    const cache = new AsOfCache<{ time: number; temp: number }>(3 * HOUR, 48 * HOUR);
    cache.put('s', obs(3, 9));
    expect((await cache.waitFor('s', 5 * HOUR, 10))?.temp).toBe(9);
    expect(await cache.waitFor('t', 5 * HOUR, 10)).toBeUndefined();
  });

  it('stops waiting when the worker shuts down', async () => {
    const cache = new AsOfCache<{ time: number; temp: number }>(3 * HOUR, 48 * HOUR);
    const controller = new AbortController();
    const waiting = cache.waitFor('s', 5 * HOUR, 60_000, controller.signal);
    controller.abort();
    expect(await waiting).toBeUndefined();
  });
});
