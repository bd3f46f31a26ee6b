import { classifyPgError } from './pg-errors.js';

/**
 * How a PostgreSQL-backed stage answers the runner's `classifyError`. A data or constraint error
 * (`dead_letter`) maps to `unknown` on purpose: the error belongs to one record of the batch, but
 * which one is unknown, so the runner re-runs the batch record by record and only the offender is
 * dead-lettered (the stage returns the dead letter itself when it fails alone, see `pgDeadLetterCode`).
 */
export function pgRunnerDisposition(error: unknown): 'retry' | 'fatal' | 'unknown' {
  const disposition = classifyPgError(error);
  return disposition === 'dead_letter' ? 'unknown' : disposition;
}
