/**
 * PostgreSQL array literals for `unnest($1::type[])` batch statements. Why not pass JS arrays:
 * postgres.js infers an array parameter's type from its first element and needs the server's
 * type map before the query is built, so `[null, true]` or a first query on a fresh pool is sent
 * with the wrong type. A text literal cast on the server (`$1::bool[]`) has neither problem, and
 * NULLs stay NULLs.
 */
export type PgScalar = string | number | boolean | null | undefined;

const needsEscape = /[\\"]/g;

/** One element: numbers and booleans as they are, everything else quoted (and escaped when needed). */
function element(v: PgScalar): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v.includes('"') || v.includes('\\') ? `"${v.replace(needsEscape, (c) => `\\${c}`)}"` : `"${v}"`;
}

export function pgArrayLiteral(values: readonly PgScalar[]): string {
  // A hot path of the writer (one literal per column per batch): plain concatenation, no temporaries.
  let literal = '{';
  for (let i = 0; i < values.length; i++) literal += (i === 0 ? '' : ',') + element(values[i]);
  return `${literal}}`;
}

/** The literal of one field of many rows (`pgArrayLiteral(rows.map((r) => r[field]))` without the array). */
export function pgArrayLiteralOf<K extends string>(rows: readonly { readonly [F in K]: PgScalar }[], field: K): string {
  let literal = '{';
  for (let i = 0; i < rows.length; i++)
    literal += (i === 0 ? '' : ',') + element((rows[i] as { [F in K]: PgScalar })[field]);
  return `${literal}}`;
}
