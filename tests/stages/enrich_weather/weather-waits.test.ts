import { describe, expect, it } from 'vitest';
import { HELD_UP_MAX_WAIT_MS, WeatherWaits } from '../../../stages/enrich_weather/weather-waits.js';

describe('WeatherWaits', () => {
  it('lets a reading wait until maxWait has passed since it was first deferred', () => {
    const waits = new WeatherWaits(1_000);
    expect(waits.keepWaiting('p0:5', 'Panther', true, 10_000)).toBe(true);
    expect(waits.keepWaiting('p0:5', 'Panther', true, 10_999)).toBe(true);
    expect(waits.keepWaiting('p0:5', 'Panther', true, 11_000)).toBe(false);
    // A site with weather is not marked weatherless by one late hour.
    expect(waits.isWeatherless('Panther')).toBe(false);
  });

  it('each reading has its own clock, forgotten once it went on', () => {
    const waits = new WeatherWaits(1_000);
    waits.keepWaiting('a', 'Panther', true, 0);
    expect(waits.keepWaiting('b', 'Panther', true, 900)).toBe(true);
    expect(waits.keepWaiting('a', 'Panther', true, 1_000)).toBe(false);
    expect(waits.keepWaiting('b', 'Panther', true, 1_000)).toBe(true);
    waits.done('a', 1_000);
    waits.done('b', 1_000);
    expect(waits.waiting).toBe(0);
  });

  it('a reading that waited and went on does not wait again when its chunk is handed in again', () => {
    const waits = new WeatherWaits(1_000);
    waits.keepWaiting('a', 'Panther', true, 0);
    expect(waits.keepWaiting('a', 'Panther', true, 1_000)).toBe(false);
    waits.done('a', 1_000);
    // A later step of a chain failed; the chunk is re-run: no fresh clock, no endless wait.
    expect(waits.keepWaiting('a', 'Panther', true, 1_100)).toBe(false);
    // Partitions moved: on this member the reading's history is gone with them.
    waits.reset();
    expect(waits.keepWaiting('a', 'Panther', true, 1_200)).toBe(true);
  });

  it('remembers a site that never had weather so its readings stop waiting, until weather comes', () => {
    const waits = new WeatherWaits(1_000);
    waits.keepWaiting('a', 'Bobcat', false, 0);
    expect(waits.keepWaiting('a', 'Bobcat', false, 1_000)).toBe(false);
    expect(waits.isWeatherless('Bobcat')).toBe(true);
    expect(waits.keepWaiting('b', 'Bobcat', false, 1_001)).toBe(false);
    waits.weatherArrived('Bobcat');
    expect(waits.keepWaiting('c', 'Bobcat', true, 1_002)).toBe(true);
  });

  it('gives up on a site without weather at the first recheck once the weather stream has passed the hour', () => {
    const waits = new WeatherWaits(60_000);
    // First sight: waits even though the stream has passed (other weather partitions may lag).
    expect(waits.keepWaiting('a', 'Rat', false, 0, true)).toBe(true);
    // A few rechecks first: weather partitions fetched with this one are processed meanwhile.
    expect(waits.keepWaiting('a', 'Rat', false, 100, true)).toBe(true);
    expect(waits.keepWaiting('a', 'Rat', false, 200, true)).toBe(false);
    expect(waits.isWeatherless('Rat')).toBe(true);
    // The stream behind the hour, or a site that has weather: the full wait applies.
    waits.keepWaiting('b', 'Bobcat', false, 0, false);
    expect(waits.keepWaiting('b', 'Bobcat', false, 200, false)).toBe(true);
    waits.keepWaiting('c', 'Panther', true, 0, true);
    expect(waits.keepWaiting('c', 'Panther', true, 200, true)).toBe(true);
  });

  it('lets waits run longer while weather cannot be stored, and gives each a full wait once it can', () => {
    const waits = new WeatherWaits(1_000);
    expect(waits.keepWaiting('r1', 'Panther', true, 0)).toBe(true);
    waits.weatherHeldUp(500);
    expect(waits.keepWaiting('r1', 'Panther', true, 5_000)).toBe(true);
    expect(waits.keepWaiting('r1', 'Panther', true, 20_000, true)).toBe(true);
    waits.weatherFlowing(20_000);
    expect(waits.keepWaiting('r1', 'Panther', true, 20_900)).toBe(true);
    expect(waits.keepWaiting('r1', 'Panther', true, 21_000)).toBe(false);
  });

  it('still bounds a wait while weather stays held up', () => {
    const waits = new WeatherWaits(1_000);
    expect(waits.keepWaiting('r1', 'Panther', true, 0)).toBe(true);
    waits.weatherHeldUp(0);
    expect(waits.keepWaiting('r1', 'Panther', true, HELD_UP_MAX_WAIT_MS - 1)).toBe(true);
    expect(waits.keepWaiting('r1', 'Panther', true, HELD_UP_MAX_WAIT_MS)).toBe(false);
  });

  it('forgets a held-up weather stream with the partitions (a revocation)', () => {
    const waits = new WeatherWaits(1_000);
    waits.weatherHeldUp(0);
    waits.reset();
    expect(waits.keepWaiting('r1', 'Panther', true, 0)).toBe(true);
    expect(waits.keepWaiting('r1', 'Panther', true, 1_000)).toBe(false);
  });

  it('never waits when maxWait is 0', () => {
    expect(new WeatherWaits(0).keepWaiting('a', 'Panther', true, 0)).toBe(false);
  });
});
