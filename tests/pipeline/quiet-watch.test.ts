import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchForQuiet } from '../../pipeline/quiet-watch.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function source() {
  return {
    recordsReceived: 0,
    quiescent: true,
    isQuiescent() {
      return this.quiescent;
    },
  };
}

describe('watchForQuiet', () => {
  it('fires once when records stop arriving, and again only after new ones', () => {
    const a = source();
    const b = source();
    let quiet = 0;
    const watch = watchForQuiet(
      [a, b],
      1_000,
      () => quiet++,
      () => Date.now(),
    );
    vi.advanceTimersByTime(5_000);
    expect(quiet).toBe(0); // nothing arrived yet: nothing to be quiet after

    a.recordsReceived = 10;
    for (let i = 0; i < 8; i++) {
      vi.advanceTimersByTime(250);
      b.recordsReceived += 1; // b keeps the worker busy
    }
    expect(quiet).toBe(0);
    vi.advanceTimersByTime(1_500);
    expect(quiet).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(quiet).toBe(1);

    a.recordsReceived = 11;
    vi.advanceTimersByTime(1_500);
    expect(quiet).toBe(2);
    watch.stop();
  });

  it('waits while records are still in flight', () => {
    const a = source();
    let quiet = 0;
    const watch = watchForQuiet(
      [a],
      1_000,
      () => quiet++,
      () => Date.now(),
    );
    a.recordsReceived = 3;
    a.quiescent = false;
    vi.advanceTimersByTime(5_000);
    expect(quiet).toBe(0);
    a.quiescent = true;
    vi.advanceTimersByTime(300);
    expect(quiet).toBe(1);
    watch.stop();
  });
});
