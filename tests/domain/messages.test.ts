import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { meterId, parseMeterId } from '../../domain/ids.js';
import { renderMessageJsonSchemas } from '../../domain/json-schemas.js';
import { RawReadingSchema, WeatherObservationSchema } from '../../domain/messages.js';
import { TOPICS } from '../../domain/topics.js';
import { rawReading } from './test-fixtures.js';

describe('message schemas', () => {
  it('committed JSON Schema files match the zod schemas (regenerate with scripts/generate-message-schemas.ts)', () => {
    for (const [file, text] of Object.entries(renderMessageJsonSchemas())) {
      const committed = readFileSync(new URL(`../../domain/schemas/${file}`, import.meta.url), 'utf8');
      expect(committed, file).toBe(text);
    }
  });

  it('accepts a replayed BDG2 reading and rejects one without a time offset', () => {
    const reading = rawReading;
    expect(RawReadingSchema.safeParse(reading).success).toBe(true);
    expect(RawReadingSchema.safeParse({ ...reading, time: '2017-03-12T07:00:00' }).success).toBe(false);
  });

  it('weather measurements are nullable, not optional', () => {
    const base = { schema_version: 1, site_id: 'Panther', time: '2017-03-12T07:00:00Z', source: 'bdg2' };
    const nulls = {
      air_temperature: null,
      cloud_coverage: null,
      dew_temperature: null,
      precip_depth_1h: null,
      precip_depth_6h: null,
      sea_level_pressure: null,
      wind_direction: null,
      wind_speed: null,
    };
    expect(WeatherObservationSchema.safeParse({ ...base, ...nulls }).success).toBe(true);
    expect(WeatherObservationSchema.safeParse(base).success).toBe(false);
  });
});

describe('meter ids and topics', () => {
  it('round-trips building and meter type', () => {
    const id = meterId('Bobcat_education_Dylan', 'solar');
    expect(id).toBe('Bobcat_education_Dylan:solar');
    expect(parseMeterId(id)).toEqual({ buildingId: 'Bobcat_education_Dylan', meterType: 'solar' });
  });

  it('rejects ids without a known meter type', () => {
    expect(parseMeterId('Bobcat_education_Dylan')).toBeUndefined();
    expect(parseMeterId('Bobcat_education_Dylan:nuclear')).toBeUndefined();
    expect(parseMeterId(':solar')).toBeUndefined();
  });

  it('logical topic names carry the schema major version', () => {
    for (const name of Object.values(TOPICS)) expect(name).toMatch(/\.v1$/);
  });
});
