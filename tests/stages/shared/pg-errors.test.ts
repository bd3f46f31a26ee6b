import { describe, expect, it } from 'vitest';
import { pgRunnerDisposition } from '../../../stages/shared/pg-disposition.js';
import { classifyPgError, PG_DEAD_LETTER_CODES, pgDeadLetterCode, sqlState } from '../../../stages/shared/pg-errors.js';

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

  it('does not read a five-letter socket code as a SQLSTATE (EPIPE is not class EP)', () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });
    expect(classifyPgError(epipe)).toBe('retry');
    expect(classifyPgError(pgError('EPIPE'))).toBe('retry');
    expect(sqlState(epipe)).toBeUndefined();
    expect(pgRunnerDisposition(epipe)).toBe('retry');
  });

  it('stops on anything it does not understand', () => {
    expect(classifyPgError(new Error('boom'))).toBe('fatal');
    expect(classifyPgError(null)).toBe('fatal');
  });

  it('names dead letters by SQLSTATE, from a closed list', () => {
    expect(pgDeadLetterCode(pgError('23503'))).toBe('pg_23503');
    expect(pgDeadLetterCode(pgError('22P02'))).toBe('pg_22P02');
    // Unlisted states of the two classes get their class's generic code.
    expect(pgDeadLetterCode(pgError('2203G'))).toBe('pg_22000'); // sql_json_item_cannot_be_cast_to_target_type
    expect(pgDeadLetterCode(pgError('23P01'))).toBe('pg_23000'); // exclusion_violation
  });

  it('gives no dead-letter code to errors that are not the record’s fault', () => {
    for (const code of ['40001', '42P01', 'XX000', 'ECONNRESET'])
      expect(pgDeadLetterCode(pgError(code))).toBeUndefined();
    expect(pgDeadLetterCode(new Error('x'))).toBeUndefined();
  });

  it('lists only data (22) and integrity (23) states, each once', () => {
    expect(new Set(PG_DEAD_LETTER_CODES).size).toBe(PG_DEAD_LETTER_CODES.length);
    for (const code of PG_DEAD_LETTER_CODES) {
      expect(code).toMatch(/^pg_2[23][0-9A-Z]{3}$/);
      expect(pgDeadLetterCode(pgError(code.slice(3)))).toBe(code);
    }
  });
});
