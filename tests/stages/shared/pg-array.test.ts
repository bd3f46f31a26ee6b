import { describe, expect, it } from 'vitest';
import { pgArrayLiteral, pgArrayLiteralOf } from '../../../stages/shared/pg-array.js';

describe('pgArrayLiteral', () => {
  it('quotes every element, escapes quotes and backslashes, and keeps NULLs', () => {
    expect(pgArrayLiteral(['a,b', 'say "hi"', 'back\\slash', null, undefined])).toBe(
      '{"a,b","say \\"hi\\"","back\\\\slash",NULL,NULL}',
    );
  });

  it('renders numbers and booleans unquoted, as PostgreSQL parses them', () => {
    expect(pgArrayLiteral([1.5, -2, 1e21, true, false])).toBe('{1.5,-2,1e+21,true,false}');
    expect(pgArrayLiteral([])).toBe('{}');
  });

  it('builds the same literal from one field of many rows', () => {
    const rows = [
      { a: 'x"y', b: 1 },
      { a: null, b: 2.5 },
      { a: 'back\\slash', b: null },
    ];
    expect(pgArrayLiteralOf(rows, 'a')).toBe(pgArrayLiteral(rows.map((r) => r.a)));
    expect(pgArrayLiteralOf(rows, 'b')).toBe(pgArrayLiteral(rows.map((r) => r.b)));
    expect(pgArrayLiteralOf([], 'a')).toBe('{}');
  });
});
