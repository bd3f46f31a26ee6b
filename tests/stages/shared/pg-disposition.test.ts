import { describe, expect, it } from 'vitest';
import { pgRunnerDisposition } from '../../../stages/shared/pg-disposition.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe('pgRunnerDisposition', () => {
  it('retries transient server states and lost connections', () => {
    expect(pgRunnerDisposition(pgError('40001'))).toBe('retry');
    expect(pgRunnerDisposition(pgError('57P01'))).toBe('retry');
    expect(pgRunnerDisposition(pgError('ECONNREFUSED'))).toBe('retry');
  });

  it('leaves data and constraint errors to record-by-record isolation', () => {
    expect(pgRunnerDisposition(pgError('23503'))).toBe('unknown');
    expect(pgRunnerDisposition(pgError('22003'))).toBe('unknown');
  });

  it('stops on schema errors such as an undefined table', () => {
    expect(pgRunnerDisposition(pgError('42P01'))).toBe('fatal');
  });

  it('defers errors that are not from PostgreSQL to the runner', () => {
    expect(pgRunnerDisposition(new TypeError('bug'))).toBe('unknown');
  });
});
