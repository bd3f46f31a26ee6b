/**
 * Notices when a worker goes quiet: records were arriving, then none for `quietAfterMs` and
 * nothing is in flight. A long-running writer refreshes its roll-ups then, so a user who looks
 * right after a backfill finished sees them fresh without waiting for a clock tick.
 */
export interface QuietSource {
  readonly recordsReceived: number;
  isQuiescent(): boolean;
}

export interface QuietWatch {
  stop(): void;
}

export function watchForQuiet(
  sources: readonly QuietSource[],
  quietAfterMs: number,
  onQuiet: () => void,
  now: () => number = () => performance.now(),
): QuietWatch {
  let seen = 0;
  let lastArrivalAt = now();
  let active = false;
  const check = () => {
    const received = sources.reduce((sum, s) => sum + s.recordsReceived, 0);
    if (received !== seen) {
      seen = received;
      lastArrivalAt = now();
      active = true;
      return;
    }
    if (active && now() - lastArrivalAt >= quietAfterMs && sources.every((s) => s.isQuiescent())) {
      active = false;
      onQuiet();
    }
  };
  const timer = setInterval(check, Math.max(50, Math.min(1_000, quietAfterMs / 4)));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
