import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RUNTIME_DEAD_LETTER_CODES, type StageCodes } from '../../pipeline/index.js';
import type { AnyStageDescriptor } from '../../stages/descriptor.js';
import { stageDescriptors } from '../../stages/registry.js';

/**
 * docs/messages.md "Dead-letter codes and skip reasons" must list exactly the codes the runtime
 * and every registered stage declare: one missing (a user finds a code nobody explains) or one
 * that no list has (a stale row) fails.
 */
const SECTION = '## Dead-letter codes and skip reasons';
const RUNTIME = 'Every stage';
const kinds = {
  'dead-letter code': 'deadLetterCodes',
  'skip reason': 'skipReasons',
  'defer reason': 'deferReasons',
} as const;
type Kind = (typeof kinds)[keyof typeof kinds];

interface DocTable {
  readonly heading: string;
  readonly kind: Kind;
  readonly codes: readonly string[];
}

/** The section's tables, each with its `###` heading, kind (from its first header cell) and first-column codes. */
function codeTables(markdown: string): DocTable[] {
  const start = markdown.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`docs/messages.md has no "${SECTION}" section`);
  const rest = markdown.slice(start + SECTION.length + 2);
  const end = rest.search(/^## /m);
  const lines = (end < 0 ? rest : rest.slice(0, end)).split('\n');
  const tables: { heading: string; kind: Kind; codes: string[] }[] = [];
  let heading = '';
  let current: { heading: string; kind: Kind; codes: string[] } | undefined;
  for (const line of lines) {
    if (line.startsWith('### ')) heading = line.slice(4).trim();
    if (!line.startsWith('|')) {
      current = undefined;
      continue;
    }
    const first = line.split('|')[1]?.trim() ?? '';
    if (/^-+$/.test(first)) continue;
    if (!current) {
      const kind = kinds[first as keyof typeof kinds];
      if (!kind) throw new Error(`table under "${heading}" starts with "${first}", not one of ${Object.keys(kinds)}`);
      current = { heading, kind, codes: [] };
      tables.push(current);
      continue;
    }
    const codes = [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    if (codes.length === 0) throw new Error(`row without a code under "${heading}": ${line}`);
    current.codes.push(...codes);
  }
  return tables;
}

const names = (heading: string): string[] => [...heading.matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1] as string);

/** Codes the docs give `owner` (a stage name, or RUNTIME) of one kind, from every table whose heading names it. */
function documented(tables: readonly DocTable[], owner: string, kind: Kind): string[] {
  return tables
    .filter((t) => t.kind === kind && (owner === RUNTIME ? t.heading === RUNTIME : names(t.heading).includes(owner)))
    .flatMap((t) => t.codes)
    .sort();
}

const listed = (codes: StageCodes | undefined, kind: Kind): string[] => [...(codes?.[kind] ?? [])].sort();

const markdown = readFileSync(new URL('../../docs/messages.md', import.meta.url), 'utf8');
const stages: readonly AnyStageDescriptor[] = stageDescriptors;

describe('docs/messages.md: dead-letter codes and skip reasons', () => {
  const tables = codeTables(markdown);

  it('lists every runtime code under "Every stage", and no other', () => {
    expect(documented(tables, RUNTIME, 'deadLetterCodes')).toEqual([...RUNTIME_DEAD_LETTER_CODES].sort());
    expect(documented(tables, RUNTIME, 'skipReasons')).toEqual([]);
    expect(documented(tables, RUNTIME, 'deferReasons')).toEqual([]);
  });

  it.each(stages.map((d) => [d.name, d] as const))('lists exactly the codes and reasons %s declares', (name, d) => {
    for (const kind of Object.values(kinds))
      expect(documented(tables, name, kind), `${name} ${kind}`).toEqual(listed(d.codes, kind));
  });

  it('has a heading for the runtime or registered stages only, and no code twice in one heading', () => {
    const known = new Set(stages.map((d) => d.name));
    for (const t of tables) {
      if (t.heading !== RUNTIME) {
        expect(names(t.heading).length, t.heading).toBeGreaterThan(0);
        for (const name of names(t.heading)) expect(known.has(name), `${name} in "${t.heading}"`).toBe(true);
      }
      expect(new Set(t.codes).size, t.heading).toBe(t.codes.length);
    }
  });

  it('points users at commands, not at source files', () => {
    const section = markdown.slice(markdown.indexOf(SECTION));
    expect(section).not.toMatch(/\.(ts|js)\b/);
  });
});

describe('the code lists', () => {
  const lists: [string, StageCodes | undefined][] = [
    ['runtime', { deadLetterCodes: RUNTIME_DEAD_LETTER_CODES }],
    ...stages.map((d): [string, StageCodes | undefined] => [d.name, d.codes]),
  ];
  it.each(lists)('%s: snake_case (metric labels), each once', (_name, codes) => {
    for (const kind of Object.values(kinds)) {
      const list = listed(codes, kind);
      expect(new Set(list).size).toBe(list.length);
      for (const code of list) expect(code).toMatch(/^[a-z][a-z0-9_]*$|^pg_[0-9A-Z]{5}$/);
    }
  });

  it('no stage reuses a runtime code as its own', () => {
    const runtime = new Set<string>(RUNTIME_DEAD_LETTER_CODES);
    for (const d of stages)
      for (const code of d.codes?.deadLetterCodes ?? []) expect(runtime.has(code), code).toBe(false);
  });
});
