import { describe, expect, it } from 'vitest';
import { type CpuSnapshot, cpuBetween } from '../../bench/cpu-usage.js';

const snapshot = (entries: [number, string, number][]): CpuSnapshot =>
  new Map(entries.map(([pid, group, seconds]) => [pid, { group, seconds }]));

describe('bench CPU seconds between two snapshots', () => {
  it('takes deltas per process, so a thread that changed its name counts only what it used meanwhile', () => {
    const before = snapshot([
      [10, 'kworker', 40],
      [11, 'eaio run (worker)', 1],
      [12, 'java', 100],
    ]);
    const after = snapshot([
      [10, 'kworker', 40.2],
      [11, 'eaio run (worker)', 4],
      [12, 'java', 100.4],
      [13, 'kworker', 0.3], // started meanwhile: counts whole
    ]);
    expect(cpuBetween(before, after)).toEqual([
      ['eaio run (worker)', 3],
      ['kworker', expect.closeTo(0.5, 6)],
      ['java', expect.closeTo(0.4, 6)],
    ]);
  });

  it('leaves out groups under 0.05 s', () => {
    expect(cpuBetween(snapshot([[1, 'a', 1]]), snapshot([[1, 'a', 1.01]]))).toEqual([]);
  });
});
