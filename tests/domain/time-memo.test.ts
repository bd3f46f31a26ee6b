import { describe, expect, it } from 'vitest';
import { isoTime, parseTime } from '../../domain/time-memo.js';

describe('remembered time conversions', () => {
  it('give what Date.parse and toISOString give, invalid input included, also past the memory bound', () => {
    const texts = ['2017-03-12T07:00:00Z', '2017-03-12T02:00:00-05:00', 'yesterday', '2017-02-30T00:00:00Z'];
    for (let i = 0; i < 5_000; i++) texts.push(new Date(Date.UTC(2016, 0, 1) + i * 3_600_000).toISOString());
    for (const round of [1, 2]) {
      for (const text of texts) {
        expect(Object.is(parseTime(text), Date.parse(text)), `${text} round ${round}`).toBe(true);
        const ms = Date.parse(text);
        if (Number.isFinite(ms)) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }
    }
  });
});
