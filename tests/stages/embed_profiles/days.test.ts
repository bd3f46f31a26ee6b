import { describe, expect, it } from 'vitest';
import { DayAccumulator, HOUR_MS, localDay, localDayOf, localHourOf } from '../../../stages/embed_profiles/day.js';
import {
  DEFAULT_PROFILE_MODEL,
  loadProfileEncoder,
  resolveProfileModel,
} from '../../../stages/embed_profiles/encoder.js';
import { dayFeatures, FEATURE_COUNT, localHourSlots } from '../../../stages/embed_profiles/features.js';
import { type MeterInfo, PartitionDays } from '../../../stages/embed_profiles/state.js';

const ZONE = 'US/Eastern';
const info: MeterInfo = {
  meterId: 'B:electricity',
  buildingId: 'B',
  siteId: 'S',
  meterType: 'electricity',
  zone: ZONE,
  primaryUse: 'office',
  floorAreaSqm: 1000,
};
const utc = (iso: string) => Date.parse(iso);
/** The UTC hours of a local day, in order. */
const hoursOf = (date: string) => {
  const d = localDay(ZONE, date);
  return Array.from({ length: d.hours }, (_, i) => d.startMs + i * HOUR_MS);
};
const officeValue = (hourMs: number) => (localHourOf(ZONE, hourMs) >= 8 && localHourOf(ZONE, hourMs) < 18 ? 10 : 2);

describe('local days', () => {
  it('has 24 hours, 23 on the spring-forward day and 25 on the fall-back day', () => {
    expect(localDay(ZONE, '2017-01-10')).toMatchObject({ hours: 24, startMs: utc('2017-01-10T05:00:00Z') });
    expect(localDay(ZONE, '2017-03-12')).toMatchObject({ hours: 23, startMs: utc('2017-03-12T05:00:00Z') });
    expect(localDay(ZONE, '2017-03-12').endMs).toBe(utc('2017-03-13T04:00:00Z'));
    expect(localDay(ZONE, '2017-11-05')).toMatchObject({ hours: 25, endMs: utc('2017-11-06T05:00:00Z') });
    expect(localDay('Europe/London', '2016-03-27').hours).toBe(23);
    expect(localDay(undefined, '2017-03-12').hours).toBe(24);
  });

  it('puts an instant in its local day: 03:00 UTC on Jan 11 is Jan 10 in New York', () => {
    expect(localDayOf(ZONE, utc('2017-01-11T03:00:00Z')).date).toBe('2017-01-10');
    expect(localDayOf(ZONE, utc('2017-01-11T05:00:00Z')).date).toBe('2017-01-11');
  });

  it('fills 24 local-hour slots: the fall-back 01:00 hours averaged, the missing spring hour interpolated', () => {
    const fall = hoursOf('2017-11-05');
    // 01:00 EDT and 01:00 EST are the 2nd and 3rd hours of the day.
    const slots = localHourSlots(
      ZONE,
      fall.map((h, i) => [h, i === 1 ? 4 : i === 2 ? 6 : 1] as const),
    );
    expect(slots).toHaveLength(24);
    expect(slots[1]).toBe(5);
    const spring = hoursOf('2017-03-12');
    const springSlots = localHourSlots(
      ZONE,
      spring.map((h) => [h, localHourOf(ZONE, h)] as const),
    );
    expect(springSlots[2]).toBe(2); // between 01:00 (1) and 03:00 (3)
    expect(springSlots[23]).toBe(23);
  });

  it('interpolates missing hours and counts them', () => {
    const acc = new DayAccumulator(localDay(ZONE, '2017-01-10'));
    for (const h of hoursOf('2017-01-10')) if (localHourOf(ZONE, h) % 6 !== 0) acc.add(h, officeValue(h));
    expect(acc.missingHours).toBe(4);
    const slots = localHourSlots(ZONE, acc.values);
    expect([slots[0], slots[6], slots[12], slots[18]]).toEqual([2, 2, 10, 6]); // held, between 2 and 2, 10 and 10, 10 and 2
    const a = dayFeatures({ zone: ZONE, day: acc.day, values: acc.values });
    expect(a).toHaveLength(FEATURE_COUNT);
    expect(Number.isNaN(a[FEATURE_COUNT - 1] as number)).toBe(true); // no weather: NaN for the encoder
  });
});

describe('partition days on event time', () => {
  const policy = { graceMs: 2 * HOUR_MS, retentionMs: 48 * HOUR_MS };
  const day = localDay(ZONE, '2017-01-10');

  it('closes a day only once the watermark passes its end plus the grace', () => {
    const p = new PartitionDays(policy);
    for (const h of hoursOf('2017-01-10')) p.add(info, h, officeValue(h), undefined, h - HOUR_MS);
    expect(p.due(day.endMs + HOUR_MS)).toHaveLength(0);
    const due = p.due(day.endMs + 2 * HOUR_MS);
    expect(due.map((d) => d.acc.day.date)).toEqual(['2017-01-10']);
  });

  it('assembles the same day from out-of-order readings', () => {
    const inOrder = new PartitionDays(policy);
    const shuffled = new PartitionDays(policy);
    const hours = hoursOf('2017-01-10');
    for (const h of hours) inOrder.add(info, h, officeValue(h), undefined, 0);
    for (const h of [...hours].reverse()) shuffled.add(info, h, officeValue(h), undefined, 0);
    const [a] = inOrder.due(day.endMs + 3 * HOUR_MS);
    const [b] = shuffled.due(day.endMs + 3 * HOUR_MS);
    expect(dayFeatures({ zone: ZONE, day, values: b?.acc.values ?? [] })).toEqual(
      dayFeatures({ zone: ZONE, day, values: a?.acc.values ?? [] }),
    );
  });

  it('re-opens a closed day for a late reading within the retention, skips one beyond it, and takes a replay as unchanged', () => {
    const p = new PartitionDays(policy);
    const hours = hoursOf('2017-01-10');
    for (const h of hours.slice(0, 20)) p.add(info, h, officeValue(h), undefined, 0);
    const [d] = p.due(day.endMs + 2 * HOUR_MS);
    if (!d) throw new Error('day not due');
    d.acc.closed = true;
    const late = hours[21] as number;
    expect(p.add(info, late, 3, undefined, day.endMs + 10 * HOUR_MS)).toBe('added');
    expect(p.due(day.endMs + 10 * HOUR_MS)).toHaveLength(1);
    expect(p.add(info, late, 3, undefined, day.endMs + 100 * HOUR_MS)).toBe('unchanged');
    expect(p.add(info, hours[22] as number, 3, undefined, day.endMs + 100 * HOUR_MS)).toBe('late');
  });

  it('evicts closed days past the retention only', () => {
    const p = new PartitionDays(policy);
    for (const h of hoursOf('2017-01-10')) p.add(info, h, 1, undefined, 0);
    expect(p.evict(day.endMs + 100 * HOUR_MS)).toBe(0); // still open: never dropped unwritten
    for (const d of p.due(day.endMs + 2 * HOUR_MS)) d.acc.closed = true;
    expect(p.evict(day.endMs + 49 * HOUR_MS)).toBe(0);
    expect(p.evict(day.endMs + 51 * HOUR_MS)).toBe(1);
    expect(p.meters.size).toBe(0);
  });
});

describe('profile encoder', () => {
  it('maps a day to a deterministic 384-d unit vector', async () => {
    const encoder = await loadProfileEncoder(resolveProfileModel(DEFAULT_PROFILE_MODEL));
    try {
      const acc = new DayAccumulator(localDay(ZONE, '2017-01-10'));
      for (const h of hoursOf('2017-01-10')) acc.add(h, officeValue(h), { airTemperature: 3, dewTemperature: -1 });
      const f = dayFeatures({ zone: ZONE, day: acc.day, values: acc.values, weather: acc.weather.values() });
      const a = await encoder.encode(f, 1);
      const b = await encoder.encode(Float32Array.from(f), 1);
      expect(a).toHaveLength(384);
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(Math.hypot(...a)).toBeCloseTo(1, 5);
      expect(encoder.version).toMatch(/^profile\.onnx@[0-9a-f]{12}$/);
    } finally {
      await encoder.release();
    }
  });

  it('refuses a model that breaks the contract, naming the file', async () => {
    await expect(loadProfileEncoder('models/anomaly/anomaly.onnx')).rejects.toThrow(/does not match the contract/);
    await expect(loadProfileEncoder('/nonexistent.onnx')).rejects.toThrow(/EAIO_EMBED_PROFILES_MODEL/);
  });
});
