/**
 * Exponential backoff with full jitter (AWS architecture blog): sleep = random(0, min(cap, base·2^n)).
 * Full jitter spreads the retries of many partitions so they do not hammer a recovering service
 * in lockstep. A budget (attempts and elapsed time) turns endless retrying into a crash.
 */
export interface RetryPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  readonly maxAttempts: number;
  readonly maxElapsedMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  baseMs: 100,
  capMs: 10_000,
  maxAttempts: 20,
  maxElapsedMs: 5 * 60_000,
};

export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Retry state of one partition's head batch. */
export class RetryBudget {
  private attemptsSoFar = 0;
  private firstFailureAt: number | undefined;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  get attempts(): number {
    return this.attemptsSoFar;
  }

  /** Records one failure; returns false when the budget is spent. */
  recordFailure(): boolean {
    this.attemptsSoFar += 1;
    this.firstFailureAt ??= this.now();
    const elapsed = this.now() - this.firstFailureAt;
    return this.attemptsSoFar < this.policy.maxAttempts && elapsed < this.policy.maxElapsedMs;
  }

  reset(): void {
    this.attemptsSoFar = 0;
    this.firstFailureAt = undefined;
  }
}
