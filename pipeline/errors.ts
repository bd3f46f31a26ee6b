/**
 * Errors with a disposition. Clients (Kafka adapter, stage I/O clients) wrap library errors in
 * these so the runner never has to guess: `TransientError` retries, `FatalError` stops the worker.
 */
export type ErrorDisposition = 'retry' | 'fatal' | 'unknown';

export class TransientError extends Error {
  constructor(
    message: string,
    readonly code = 'transient',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransientError';
  }
}

export class FatalError extends Error {
  constructor(
    message: string,
    readonly code = 'fatal',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FatalError';
  }
}

/** The default classifier; a stage's own `classifyError` is consulted first. */
export function defaultClassify(error: unknown): ErrorDisposition {
  if (error instanceof TransientError) return 'retry';
  if (error instanceof FatalError) return 'fatal';
  return 'unknown';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
