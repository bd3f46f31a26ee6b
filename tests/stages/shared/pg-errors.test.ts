import { describe, expect, it } from 'vitest';
import { classifyPgError, pgDeadLetterCode } from '../../../stages/shared/pg-errors.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe('classifyPgError', () => {
  it.each([
    ['08006', 'retry'], // connection_failure
    ['40001', 'retry'], // serialization_failure
    ['40P01', 'retry'], // deadlock_detected
    ['53300', 'retry'], // too_many_connections
    ['57P01', 'retry'], // admin_shutdown
    ['22003', 'dead_letter'], // numeric_value_out_of_range
    ['22P02', 'dead_letter'], // invalid_text_representation
    ['23505', 'dead_letter'], // unique_violation
    ['23503', 'dead_letter'], // foreign_key_violation
    ['42P01', 'fatal'], // undefined_table
    ['42703', 'fatal'], // undefined_column
    ['42501', 'fatal'], // insufficient_privilege
    ['XX000', 'fatal'], // internal_error
  ] as const)('SQLSTATE %s → %s', (code, expected) => {
    expect(classifyPgError(pgError(code))).toBe(expected);
  });

  it('retries socket failures without a SQLSTATE', () => {
    expect(classifyPgError(pgError('ECONNREFUSED'))).toBe('retry');
    expect(classifyPgError(pgError('CONNECTION_CLOSED'))).toBe('retry');
  });

  it('stops on anything it does not understand', () => {
    expect(classifyPgError(new Error('boom'))).toBe('fatal');
    expect(classifyPgError(null)).toBe('fatal');
  });

  it('names dead letters by SQLSTATE', () => {
    expect(pgDeadLetterCode(pgError('23503'))).toBe('pg_23503');
    expect(pgDeadLetterCode(new Error('x'))).toBe('pg_unknown');
  });
});
