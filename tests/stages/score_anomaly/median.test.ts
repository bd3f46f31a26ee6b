import { describe, expect, it } from 'vitest';
import { median } from '../../../stages/score_anomaly/features.js';

/** The reference: sort a copy and take the middle (the mean of the two middles when n is even). */
function sortedMedian(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A small deterministic generator, so a failure names a reproducible case. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('median by selection', () => {
  it('is NaN for no values and the value itself for one', () => {
    expect(median(new Float64Array(4), 0)).toBeNaN();
    expect(median(Float64Array.of(3.5, 9), 1)).toBe(3.5);
  });

  it('equals the sorted median for every length up to 200, with ties, negatives and runs', () => {
    const random = lcg(42);
    for (let n = 1; n <= 200; n++) {
      for (const kind of ['spread', 'ties', 'sorted', 'reversed', 'constant']) {
        const values = Array.from({ length: n }, (_, i) => {
          if (kind === 'ties') return Math.floor(random() * 4) - 1;
          if (kind === 'sorted') return i * 0.5;
          if (kind === 'reversed') return (n - i) * 0.5;
          if (kind === 'constant') return 7;
          return (random() - 0.3) * 1000;
        });
        // Only the first n of a longer buffer count, as in the features' shared scratch buffer.
        const buffer = new Float64Array(n + 5).fill(1e9);
        buffer.set(values);
        expect(median(buffer, n), `n=${n} ${kind}`).toBe(sortedMedian(values));
      }
    }
  });
});
