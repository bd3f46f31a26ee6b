/**
 * Two-step shutdown: the first SIGTERM/SIGINT asks for a graceful drain; a second one (or the
 * drain timeout, enforced by the caller) aborts.
 */
export interface SignalHandlers {
  onGraceful(signal: NodeJS.Signals): void;
  onAbort(signal: NodeJS.Signals): void;
}

export function installSignalHandlers(handlers: SignalHandlers): () => void {
  let received = 0;
  const listener = (signal: NodeJS.Signals) => {
    received += 1;
    if (received === 1) handlers.onGraceful(signal);
    else handlers.onAbort(signal);
  };
  process.on('SIGTERM', listener);
  process.on('SIGINT', listener);
  return () => {
    process.off('SIGTERM', listener);
    process.off('SIGINT', listener);
  };
}

/** Resolves with `value` after `ms` unless cleared; used to bound drains. */
export function deadline<T>(ms: number, value: T): { promise: Promise<T>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(value), ms);
  });
  return { promise, clear: () => clearTimeout(timer) };
}
