/**
 * Writes domain/schemas/*.json from the zod message schemas (domain/messages.ts).
 * Run: npx tsx scripts/generate-message-schemas.ts   (a unit test fails when they drift)
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderMessageJsonSchemas } from '../domain/json-schemas.js';

const dir = fileURLToPath(new URL('../domain/schemas/', import.meta.url));
for (const [file, text] of Object.entries(renderMessageJsonSchemas())) {
  writeFileSync(dir + file, text);
  console.log(`wrote domain/schemas/${file}`);
}
