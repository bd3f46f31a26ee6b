import { describe, expect, it } from 'vitest';
import type { ProduceRecord } from '../../pipeline/broker.js';
import { sliceBySize } from '../../pipeline/broker-kafka.js';

const record = (i: number, bytes: number): ProduceRecord => ({
  topic: 't',
  key: `k${i}`,
  value: Buffer.alloc(bytes, 1),
});

describe('sliceBySize', () => {
  it('keeps every record, in order, in slices under the limit', () => {
    const records = Array.from({ length: 1_000 }, (_, i) => record(i, 1_000));
    const slices = sliceBySize(records, 100_000);
    expect(slices.flat()).toEqual(records);
    expect(slices.length).toBeGreaterThan(9);
    for (const slice of slices)
      expect(slice.reduce((n, r) => n + (r.value as Buffer).length, 0)).toBeLessThanOrEqual(100_000);
  });

  it('sends a record larger than the limit alone rather than dropping it', () => {
    const slices = sliceBySize([record(0, 10), record(1, 5_000), record(2, 10)], 1_000);
    expect(slices.map((s) => s.map((r) => r.key))).toEqual([['k0'], ['k1'], ['k2']]);
  });

  it('one slice when everything fits', () => {
    expect(sliceBySize([record(0, 10), record(1, 10)], 1_000)).toHaveLength(1);
    expect(sliceBySize([], 1_000)).toEqual([]);
  });
});
