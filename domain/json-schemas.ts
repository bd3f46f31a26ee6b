import { z } from 'zod';
import { MESSAGE_SCHEMAS } from './messages.js';

/**
 * Renders every message schema as JSON Schema (draft 2020-12). `io: 'input'` describes what a
 * producer may send: unknown properties are allowed, so adding an optional field within v1 does
 * not break older consumers' schema checks.
 */
export function renderMessageJsonSchemas(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [file, schema] of Object.entries(MESSAGE_SCHEMAS)) {
    const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' });
    files[file] = `${JSON.stringify(json, null, 2)}\n`;
  }
  return files;
}
