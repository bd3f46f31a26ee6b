/**
 * `eaio dlq export`'s lines: `{"value": <the payload as JSON>, "headers": {<name>: <text>}}`, the
 * form `eaio publish` reads back, so a rejected record is corrected by editing its line. The
 * headers are the dead letter's own (the original ones and the `x-dlq-*` provenance: stage, code,
 * message, source topic/partition/offset, failure time), kept so a corrected record still says
 * where it came from. A payload that is not UTF-8 JSON (a tombstone, a CSV line, truncated JSON)
 * cannot be edited as a JSON value: it is left out and counted, never exported in another shape.
 */
import type { RawRecord } from '../pipeline/index.js';

export type ExportSkip = 'value_not_json' | 'header_not_utf8';

export interface ExportLine {
  readonly value: unknown;
  readonly headers: Record<string, string>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function exportLine(raw: RawRecord): ExportLine | ExportSkip {
  const payload = raw.value && raw.value.length > 0 ? text(raw.value) : undefined;
  if (payload === undefined) return 'value_not_json';
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return 'value_not_json';
  }
  const headers: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(raw.headers)) {
    if (bytes === undefined) continue;
    const header = text(bytes);
    if (header === undefined) return 'header_not_utf8';
    headers[name] = header;
  }
  return { value, headers };
}

export const skipExplanation: Record<ExportSkip, string> = {
  value_not_json: 'the value is not UTF-8 JSON, so it cannot be edited as a JSON line',
  header_not_utf8: 'a header is not UTF-8 text, which a JSON line cannot carry unchanged',
};
