/**
 * PostgreSQL array literals for `unnest($1::type[])` batch statements. Why not pass JS arrays:
 * postgres.js infers an array parameter's type from its first element and needs the server's
 * type map before the query is built, so `[null, true]` or a first query on a fresh pool is sent
 * with the wrong type. A text literal cast on the server (`$1::bool[]`) has neither problem, and
 * NULLs stay NULLs.
 */
export type PgScalar = string | number | boolean | null | undefined;

const needsEscape = /[\\"]/g;

export function pgArrayLiteral(values: readonly PgScalar[]): string {
  const items = values.map((v) =>
    v === null || v === undefined ? 'NULL' : `"${String(v).replace(needsEscape, (c) => `\\${c}`)}"`,
  );
  return `{${items.join(',')}}`;
}
