import { classifyPgError, sqlState } from './pg-errors.js';

/**
 * How a PostgreSQL-backed stage answers the runner's `classifyError`:
 * - a server error with a SQLSTATE, or a lost connection: as `classifyPgError` says, except that a
 *   data or constraint error (`dead_letter`) maps to `unknown` on purpose: it belongs to one record
 *   of the batch, but which one is unknown, so the runner re-runs the batch record by record and
 *   only the offender is dead-lettered (the stage returns that dead letter itself when it fails alone);
 * - anything else: `unknown`, so the runner's own rules apply (TransientError, FatalError, isolation).
 */
export function pgRunnerDisposition(error: unknown): 'retry' | 'fatal' | 'unknown' {
  const disposition = classifyPgError(error);
  if (disposition === 'retry') return 'retry';
  if (sqlState(error) === undefined || disposition === 'dead_letter') return 'unknown';
  return 'fatal';
}
