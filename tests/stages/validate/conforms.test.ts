import { describe, expect, it } from 'vitest';
import { RawReadingSchema } from '../../../domain/messages.js';
import { conformsToRawReading } from '../../../stages/validate/conforms.js';
import { rawReading } from '../../domain/test-fixtures.js';

const zodTime = RawReadingSchema.shape.time;
const isValidTime = (time: string) => zodTime.safeParse(time).success;

const good: Record<string, unknown> = { ...rawReading, is_estimated: false };

/** Values that probe every kind of check: types, bounds (each side), enums, non-finite numbers. */
const probes: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  '',
  'a',
  'ab',
  'abc',
  'x'.repeat(32),
  'x'.repeat(33),
  'x'.repeat(40),
  'x'.repeat(41),
  'x'.repeat(100),
  'x'.repeat(101),
  'x'.repeat(200),
  'x'.repeat(201),
  'x'.repeat(220),
  'x'.repeat(221),
  'electricity',
  'Electricity',
  'solar',
  '2017-03-12T07:00:00Z',
  '2017-03-12T07:00:00+01:00',
  '2017-03-12T07:00:00',
  '2017-03-12 07:00:00Z',
  '2017-02-30T07:00:00Z',
  'yesterday',
  [],
  {},
  { value: 1 },
];

describe('validate: the fast schema check agrees with RawReadingSchema', () => {
  it('accepts ordinary readings, with and without the optional fields', () => {
    const minimal = { ...good };
    delete minimal.site_id;
    delete minimal.is_estimated;
    delete minimal.local_time;
    for (const reading of [good, minimal, { ...good, extra: 'ignored' }]) {
      expect(RawReadingSchema.safeParse(reading).success).toBe(true);
      expect(conformsToRawReading(reading, isValidTime)).toBe(true);
    }
  });

  it('never accepts what zod rejects: every field set to every probe, and every field missing', () => {
    let accepted = 0;
    let compared = 0;
    for (const field of Object.keys(good)) {
      const missing = { ...good };
      delete missing[field];
      const variants = [missing, ...probes.map((probe) => ({ ...good, [field]: probe }))];
      for (const variant of variants) {
        const zod = RawReadingSchema.safeParse(variant).success;
        const fast = conformsToRawReading(variant, isValidTime);
        compared++;
        if (fast) accepted++;
        // Sound: fast "yes" implies zod "yes". Fast "no" only sends the reading to zod.
        if (fast) expect({ field, value: variant[field], zod }).toEqual({ field, value: variant[field], zod: true });
      }
    }
    expect(compared).toBeGreaterThan(300);
    // And useful: the valid variants among the probes pass the fast check too (not just the base reading).
    expect(accepted).toBeGreaterThan(15);
  });

  it('rejects the kinds of wrong input the stage sees, leaving the message to zod', () => {
    expect(conformsToRawReading({ ...good, value: '46.2' }, isValidTime)).toBe(false);
    expect(conformsToRawReading({ ...good, schema_version: 2 }, isValidTime)).toBe(false);
    expect(conformsToRawReading({ ...good, meter_type: 'gasoline' }, isValidTime)).toBe(false);
    expect(conformsToRawReading({ ...good, time: '2017-03-12T07:00:00' }, isValidTime)).toBe(false);
    expect(conformsToRawReading({ ...good, unit: '' }, isValidTime)).toBe(false);
  });
});
