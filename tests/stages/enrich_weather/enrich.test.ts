import { describe, expect, it } from 'vitest';
import { EnrichedReadingSchema, ValidatedReadingSchema } from '../../../domain/messages.js';
import { enrichReading, newerWeather, toCachedWeather } from '../../../stages/enrich_weather/enrich.js';
import { observation, reading } from './test-fixtures.js';

describe('enrichReading', () => {
  it('copies the reading and the observation columns and names the observation hour', () => {
    const enriched = enrichReading(reading, toCachedWeather(observation));
    expect(enriched).toMatchObject({ ...reading, air_temperature: 21.1, cloud_coverage: null, wind_speed: 3.1 });
    expect(enriched.weather_time).toBe('2017-03-12T06:00:00Z');
    expect(enriched.weather_missing).toBe(false);
    expect(EnrichedReadingSchema.parse(enriched)).toEqual(enriched);
  });

  it('without a match passes the reading on with null weather and weather_missing', () => {
    const enriched = enrichReading(reading, undefined);
    expect(enriched.weather_missing).toBe(true);
    expect(enriched.weather_time).toBeNull();
    expect(enriched.air_temperature).toBeNull();
    expect(enriched.value).toBe(46.2);
    expect(EnrichedReadingSchema.safeParse(enriched).success).toBe(true);
  });

  it('carries every field of the validated reading (the copy is explicit, so a new field must be added there)', () => {
    const enriched = enrichReading(reading, undefined) as Record<string, unknown>;
    for (const field of Object.keys(ValidatedReadingSchema.shape)) expect(enriched).toHaveProperty(field);
  });

  it('keeps precip_depth_6h out of the reading (not a reading column of v1)', () => {
    expect(Object.keys(enrichReading(reading, toCachedWeather(observation)))).not.toContain('precip_depth_6h');
  });
});

describe('newerWeather', () => {
  it('prefers the later observation and tolerates absent candidates', () => {
    const early = toCachedWeather(observation);
    const late = toCachedWeather({ ...observation, time: '2017-03-12T07:00:00Z' });
    expect(newerWeather(early, late)).toBe(late);
    expect(newerWeather(late, early)).toBe(late);
    expect(newerWeather(undefined, early)).toBe(early);
    expect(newerWeather(undefined, undefined)).toBeUndefined();
  });
});
