/**
 * The rooms' doors: `pipeline/index.ts` is the only way into the runtime from product code, and
 * the runtime imports nothing of the domain or the product around it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const sources = execFileSync('git', ['ls-files', '*.ts'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && !f.startsWith('tests/'));

/** Repo-relative targets of a file's relative imports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1] as string);
  return specs.map((spec) => relative(ROOT, normalize(join(ROOT, dirname(file), spec))));
}

describe('import boundaries', () => {
  it('product code outside pipeline/ enters it through pipeline/index.ts only', () => {
    const around = sources
      .filter((f) => !f.startsWith('pipeline/'))
      .flatMap((f) =>
        importsOf(f)
          .filter((t) => t.startsWith('pipeline/') && t !== 'pipeline/index.js')
          .map((t) => `${f} → ${t}`),
      );
    expect(around).toEqual([]);
  });

  it('pipeline/ imports nothing from the rooms around it', () => {
    const upward = sources
      .filter((f) => f.startsWith('pipeline/'))
      .flatMap((f) =>
        importsOf(f)
          .filter((t) => /^(stages|domain|api|cli|sources|jobs|bench|sql)\//.test(t))
          .map((t) => `${f} → ${t}`),
      );
    expect(upward).toEqual([]);
  });

  it('tests live under tests/ only (product folders ship in the image)', () => {
    expect(sources.filter((f) => f.endsWith('.test.ts') || f.includes('fixtures'))).toEqual([]);
  });
});
