import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  contentWarnings,
  deadLetterKind,
  describeDeadLetters,
  knownDeadLetterCodes,
} from '../../../cli/commands/dlq.js';
import { RUNTIME_DEAD_LETTER_CODES, RUNTIME_DEAD_LETTER_KINDS } from '../../../pipeline/codes.js';
import type { DeadLetterView } from '../../../pipeline/dlq.js';
import { stageDescriptors } from '../../../stages/registry.js';

const view = (code: string, sourceOffset: string, sourceTopic = 'eaio.readings.raw.v1'): DeadLetterView => ({
  stage: 'validate',
  code,
  message: `why ${code}`,
  sourceTopic,
  sourcePartition: 3,
  sourceOffset,
  attempts: 1,
  failedAt: '2017-03-12T07:00:00.000Z',
  dlqPartition: 0,
  dlqOffset: '0',
  key: null,
  value: null,
});

/** Where each column starts in a line: after each run of two or more spaces. */
const columnStarts = (line: string): number[] => [...line.matchAll(/ {2,}(?=\S)/g)].map((m) => m.index + m[0].length);

describe('eaio dlq list', () => {
  it('knows every code of the runtime and of each registered stage', () => {
    const known = knownDeadLetterCodes();
    for (const code of RUNTIME_DEAD_LETTER_CODES) expect(known).toContain(code);
    for (const d of stageDescriptors) for (const code of d.codes?.deadLetterCodes ?? []) expect(known).toContain(code);
  });

  it('keeps the columns aligned for every known code, alone or mixed', () => {
    const views = knownDeadLetterCodes().map((code, i) => view(code, String(10 ** (i % 6))));
    const lines = describeDeadLetters(views);
    const starts = columnStarts(lines[0] as string).slice(0, 3);
    expect(starts).toHaveLength(3);
    for (const line of lines) expect(columnStarts(line).slice(0, 3), line).toEqual(starts);
    // One dead letter at a time lines up the same way: the code column does not depend on what is shown.
    for (const v of views.slice(0, 5)) expect(columnStarts(describeDeadLetters([v])[0] as string)[1]).toBe(starts[1]);
  });

  it('widens the code column for a longer code it does not know', () => {
    const long = 'a_code_from_some_other_version_of_the_pipeline';
    const lines = describeDeadLetters([view(long, '1'), view('invalid_json', '2')]);
    expect(columnStarts(lines[0] as string).slice(0, 2)).toEqual(columnStarts(lines[1] as string).slice(0, 2));
    expect(lines[0]).toContain(`${long}  eaio.readings.raw.v1:3@1`);
  });

  it('shows time, code, source, attempts and message', () => {
    expect(describeDeadLetters([view('unknown_building', '42')])[0]).toMatch(
      /^2017-03-12T07:00:00\.000Z {2}unknown_building +eaio\.readings\.raw\.v1:3@42 {2}attempts=1 {2}why unknown_building$/,
    );
  });
});

describe('eaio dlq list states', () => {
  it('adds a state column after the time and keeps the other columns aligned', () => {
    const views = knownDeadLetterCodes().map((code, i) => view(code, String(10 ** (i % 6))));
    const states = views.map((_, i) => (['pending', 'replayed', 'exported'] as const)[i % 3] ?? 'pending');
    const lines = describeDeadLetters(views, states);
    const starts = columnStarts(lines[0] as string).slice(0, 4);
    expect(starts).toHaveLength(4);
    for (const line of lines) expect(columnStarts(line).slice(0, 4), line).toEqual(starts);
    expect(lines[1]).toMatch(/^2017-03-12T07:00:00\.000Z {2}replayed {2}\S+ +eaio\.readings\.raw\.v1:3@10 +attempts=1/);
  });
});

describe('dead-letter kinds (content or environment)', () => {
  it('classifies every code of the runtime and of each registered stage, and nothing else', () => {
    expect(Object.keys(RUNTIME_DEAD_LETTER_KINDS).sort()).toEqual([...RUNTIME_DEAD_LETTER_CODES].sort());
    for (const d of stageDescriptors) {
      const codes = [...(d.codes?.deadLetterCodes ?? [])].sort();
      expect(Object.keys(d.codes?.deadLetterKinds ?? {}).sort(), d.name).toEqual(codes);
      for (const code of [...codes, ...RUNTIME_DEAD_LETTER_CODES])
        expect(['content', 'environment'], `${d.name} ${code}`).toContain(deadLetterKind(d.name, code));
    }
  });

  it('names the record as the cause when the same bytes would be rejected again', () => {
    for (const code of [
      'timestamp_missing_offset',
      'schema_violation',
      'invalid_json',
      'value_negative',
      'unknown_unit',
    ])
      expect(deadLetterKind('validate', code), code).toBe('content');
    for (const code of ['unknown_building', 'unknown_meter', 'timestamp_in_future', 'process_error'])
      expect(deadLetterKind('validate', code), code).toBe('environment');
    expect(deadLetterKind('write_hypertable', 'pg_23503')).toBe('environment');
    expect(deadLetterKind('enrich_weather', 'pg_22003')).toBe('content');
    expect(deadLetterKind('validate', 'a_code_from_another_version')).toBeUndefined();
  });

  it('docs/messages.md names exactly the environment codes', () => {
    const markdown = readFileSync(new URL('../../../docs/messages.md', import.meta.url), 'utf8');
    const sentence = /The environment codes are ([^;]+);/.exec(markdown.replace(/\s+/g, ' '))?.[1] ?? '';
    const documented = [...sentence.matchAll(/`([a-z0-9_A-Z]+)`/g)].map((m) => m[1]).sort();
    const environment = knownDeadLetterCodes()
      .filter((code) => stageDescriptors.some((d) => deadLetterKind(d.name, code) === 'environment'))
      .sort();
    expect(documented).toEqual(environment);
  });

  it('warns once per code with its count and suggests export, edit, publish', () => {
    const content = [
      view('timestamp_missing_offset', '1'),
      view('value_negative', '2'),
      view('timestamp_missing_offset', '3'),
    ];
    expect(contentWarnings('validate', content, false)).toEqual([
      '2 timestamp_missing_offset not replayed: their content is the cause, validate would reject them again',
      '1 value_negative not replayed: their content is the cause, validate would reject them again',
      'correct them instead: eaio dlq export validate --code <code> --pending --mark > fix.jsonl, edit fix.jsonl, eaio publish fix.jsonl (or send them anyway with --include-content)',
    ]);
    expect(contentWarnings('validate', content.slice(1, 2), true)).toEqual([
      '1 value_negative replayed although their content is the cause: validate will likely reject them again',
      'correct them instead: eaio dlq export validate --code value_negative --pending --mark > fix.jsonl, edit fix.jsonl, eaio publish fix.jsonl',
    ]);
    expect(contentWarnings('validate', [], false)).toEqual([]);
  });
});
