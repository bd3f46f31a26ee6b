import { describe, expect, it } from 'vitest';
import { remember } from '../../domain/remember.js';

describe('remember', () => {
  it('computes each key once, remembers undefined and NaN answers, and stays within its limit', () => {
    const calls: string[] = [];
    const f = remember((k: string) => {
      calls.push(k);
      return k === 'u' ? undefined : k === 'n' ? Number.NaN : k.length;
    }, 3);
    expect([f('ab'), f('ab'), f('u'), f('u'), f('n'), f('n')]).toEqual([
      2,
      2,
      undefined,
      undefined,
      Number.NaN,
      Number.NaN,
    ]);
    expect(calls).toEqual(['ab', 'u', 'n']);
    f('xyz'); // over the limit: the memory starts again
    f('ab');
    expect(calls).toEqual(['ab', 'u', 'n', 'xyz', 'ab']);
  });
});
