/**
 * A service the pipeline needs (Kafka, PostgreSQL, Milvus) cannot be reached: an expected
 * condition, reported as one line that names the service, its address and the fix, never as a
 * stack trace. `eaio` prints it (cli/main.ts) and exits 1; a worker logs it and exits 1.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

export type ServiceName = 'Kafka' | 'PostgreSQL' | 'Milvus';

const SETTING: Record<ServiceName, string> = {
  Kafka: 'KAFKA_BROKERS',
  PostgreSQL: 'DATABASE_URL',
  Milvus: 'MILVUS_ADDRESS',
};

export function serviceFix(service: ServiceName): string {
  return `Start the local stack with 'npx eaio services up' or set ${SETTING[service]}.`;
}

export class ServiceUnreachableError extends Error {
  constructor(
    readonly service: ServiceName,
    /** host:port (no credentials). */
    readonly address: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach ${service} at ${address} (${reason}). ${serviceFix(service)}`, options);
    this.name = 'ServiceUnreachableError';
  }
}

/** host:port[/db] of a connection URL, without user or password. */
export function addressOfUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const db = parsed.pathname.length > 1 ? parsed.pathname : '';
    return `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${db}`;
  } catch {
    return '(unparsable URL)';
  }
}

export interface StartupWaitOptions {
  readonly service: ServiceName;
  readonly address: string;
  /** Longest total wait in ms; 0 waits until the service answers (or the signal fires). */
  readonly waitMs: number;
  readonly log: Pick<Logger, 'warn' | 'info'>;
  readonly signal?: AbortSignal;
  /** Full-jitter backoff between attempts: random(0, min(capMs, baseMs·2ⁿ)), at least minMs. */
  readonly baseMs?: number;
  readonly capMs?: number;
  readonly random?: () => number;
}

/**
 * Runs `attempt` until it succeeds. An error that `isUnreachable` recognises is waited out with
 * jittered backoff, one log line per failed attempt naming the service, address and fix; after
 * `waitMs` it becomes a ServiceUnreachableError. Any other error (bad credentials, a missing
 * database) is thrown at once: waiting would not fix it.
 */
export async function waitUntilReachable<T>(
  attempt: () => Promise<T>,
  isUnreachable: (error: unknown) => string | undefined,
  options: StartupWaitOptions,
): Promise<T> {
  const started = Date.now();
  const base = options.baseMs ?? 500;
  const cap = options.capMs ?? 5_000;
  const random = options.random ?? Math.random;
  let lastReason = 'no answer';
  for (let failures = 0; ; failures++) {
    options.signal?.throwIfAborted();
    try {
      const result = await boundedAttempt(attempt, options, started, lastReason);
      if (failures > 0)
        options.log.info({ service: options.service, address: options.address }, 'service reachable, starting');
      return result;
    } catch (error) {
      const reason = error instanceof ServiceUnreachableError ? error.reason : isUnreachable(error);
      if (reason === undefined) throw error;
      lastReason = reason;
      const waited = Date.now() - started;
      const unreachable = new ServiceUnreachableError(options.service, options.address, reason, { cause: error });
      if (options.waitMs > 0 && waited >= options.waitMs) throw unreachable;
      let delay = Math.max(100, Math.round(random() * Math.min(cap, base * 2 ** failures)));
      if (options.waitMs > 0) delay = Math.min(delay, options.waitMs - waited);
      options.log.warn(
        {
          service: options.service,
          address: options.address,
          reason,
          attempt: failures + 1,
          retryInMs: delay,
          waitedS: Math.round(waited / 1000),
          giveUpAfterS: options.waitMs > 0 ? Math.round(options.waitMs / 1000) : 'never',
          fix: serviceFix(options.service),
        },
        'waiting for a service at start-up',
      );
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : undefined).catch((e: unknown) => {
        options.signal?.throwIfAborted();
        throw e;
      });
    }
  }
}

/**
 * One attempt, cut short by the deadline or the signal: a client may back off by itself between
 * connection attempts (postgres.js waits up to 20 s), which must not stretch the start-up wait.
 */
async function boundedAttempt<T>(
  attempt: () => Promise<T>,
  options: StartupWaitOptions,
  started: number,
  lastReason: string,
): Promise<T> {
  const running = attempt();
  const limits: Promise<never>[] = [];
  const timers = new AbortController();
  if (options.waitMs > 0) {
    const left = Math.max(0, options.waitMs - (Date.now() - started));
    limits.push(
      sleep(left, undefined, { signal: timers.signal }).then(() => {
        throw new ServiceUnreachableError(options.service, options.address, lastReason);
      }),
    );
  }
  if (options.signal) {
    const signal = options.signal;
    limits.push(
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true, signal: timers.signal });
      }),
    );
  }
  if (limits.length === 0) return running;
  // The abandoned attempt may still settle later; nobody is waiting for it.
  running.catch(() => undefined);
  for (const limit of limits) limit.catch(() => undefined);
  try {
    return await Promise.race([running, ...limits]);
  } finally {
    timers.abort();
  }
}
