import { describe, expect, it } from 'vitest';
import { describeDeadLetters, knownDeadLetterCodes } from '../../../cli/commands/dlq.js';
import { RUNTIME_DEAD_LETTER_CODES } from '../../../pipeline/codes.js';
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
