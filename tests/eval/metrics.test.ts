import { describe, expect, it } from 'vitest';
import { binaryMetrics } from '../../eval/metrics.js';

describe('binaryMetrics', () => {
  it('ROC-AUC, average precision and F1 on a small hand-worked case', () => {
    // Sorted: .9(+) .8(-) .7(+) .4(-) .2(-): AUC = (3 + 2) / 6; AP = (1/1 + 2/3) / 2.
    const m = binaryMetrics([0.9, 0.8, 0.7, 0.4, 0.2], [true, false, true, false, false], 0.75);
    expect(m.rocAuc).toBeCloseTo(5 / 6);
    expect(m.prAuc).toBeCloseTo((1 + 2 / 3) / 2);
    expect(m.flagged).toBe(2);
    expect(m.precision).toBe(0.5);
    expect(m.recall).toBe(0.5);
    expect(m.f1).toBe(0.5);
  });

  it('counts ties half and reports n/a without both classes', () => {
    expect(binaryMetrics([0.5, 0.5], [true, false], 0.5).rocAuc).toBe(0.5);
    expect(binaryMetrics([0.1, 0.9], [false, false], 0.5).rocAuc).toBeNull();
    expect(binaryMetrics([0.1, 0.9], [false, false], 0.5).prAuc).toBeNull();
    expect(binaryMetrics([0.2, 0.9], [true, false], 0.5).rocAuc).toBe(0);
  });
});
