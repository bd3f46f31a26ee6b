/**
 * Writes the generated documentation (scripts/generated-docs.ts): `npm run docs:generate`.
 * With --check it writes nothing and exits 1 naming each stale file (CI).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatedDocs } from './generated-docs.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string): string => {
  try {
    return readFileSync(root + path, 'utf8');
  } catch {
    return '';
  }
};
const check = process.argv.includes('--check');
let docs: Record<string, string>;
try {
  docs = generatedDocs(read);
} catch (error) {
  console.error(`docs:generate: ${(error as Error).message}`);
  process.exit(1);
}
let stale = 0;
for (const [path, text] of Object.entries(docs)) {
  if (read(path) === text) {
    console.log(`up to date  ${path}`);
  } else if (check) {
    stale += 1;
    console.log(`stale       ${path} (run npm run docs:generate)`);
  } else {
    writeFileSync(root + path, text);
    console.log(`wrote       ${path}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
