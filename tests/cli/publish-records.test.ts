import { describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/command.js';
import { PublishCounts, parsePublishArgs } from '../../cli/commands/publish.js';
import { readLines } from '../../cli/line-reader.js';
import { mapJsonLine, REFUSAL_REASONS, recordBytes } from '../../cli/publish-records.js';

const reading = {
  schema_version: 1,
  meter_id: 'Panther_office_Karla:electricity',
  building_id: 'Panther_office_Karla',
  meter_type: 'electricity',
  time: '2017-03-12T07:00:00Z',
  value: 46.2,
  unit: 'kWh',
  source: 'test',
};
const weather = { schema_version: 1, site_id: 'Panther', time: '2017-03-12T07:00:00Z', air_temperature: 3 };
const MAX = 1_000_000;

describe('mapJsonLine: keyed as the pipeline expects', () => {
  it('keys a reading by meter_id and sends the line as written', () => {
    const line = `  ${JSON.stringify(reading, null, 0)} `;
    expect(mapJsonLine(line, 'raw', MAX)).toEqual({
      record: { key: 'Panther_office_Karla:electricity', value: JSON.stringify(reading) },
    });
  });

  it('keys weather by site_id', () => {
    expect(mapJsonLine(JSON.stringify(weather), 'weather', MAX)).toEqual({
      record: { key: 'Panther', value: JSON.stringify(weather) },
    });
  });

  it('does not judge content: a reading validate will reject is still sent', () => {
    const bad = { meter_id: 'x', value: 'not a number', unit: 'furlongs' };
    expect(mapJsonLine(JSON.stringify(bad), 'raw', MAX)).toEqual({ record: { key: 'x', value: JSON.stringify(bad) } });
  });

  it("sends an envelope's value with its headers (corrected dead letters keep their provenance)", () => {
    const headers = { 'x-dlq-code': 'unknown_unit', 'x-dlq-source-offset': '42' };
    expect(mapJsonLine(JSON.stringify({ value: reading, headers }), 'raw', MAX)).toEqual({
      record: { key: reading.meter_id, value: JSON.stringify(reading), headers },
    });
    // The payload may be JSON text, as a dead letter's original bytes are.
    expect(mapJsonLine(JSON.stringify({ headers, value: JSON.stringify(weather) }), 'weather', MAX)).toEqual({
      record: { key: 'Panther', value: JSON.stringify(weather), headers },
    });
  });

  it('an object with more keys than value and headers is a message, not an envelope', () => {
    const line = JSON.stringify({ value: 1, headers: {}, meter_id: 'm' });
    expect(mapJsonLine(line, 'raw', MAX)).toEqual({ record: { key: 'm', value: line } });
  });
});

describe('mapJsonLine: refused before sending, with the reason', () => {
  const reasonOf = (line: string, topic: 'raw' | 'weather' = 'raw', max = MAX) => {
    const m = mapJsonLine(line, topic, max);
    return 'refused' in m ? m.refused.reason : 'sent';
  };

  it.each([
    ['{"meter_id": "m",', 'not_json'],
    ['meter_id,value', 'not_json'],
    ['[1, 2]', 'not_an_object'],
    ['null', 'not_an_object'],
    ['42', 'not_an_object'],
    ['{"value": 1, "headers": {}}', 'not_an_object'],
    ['{"value": "{oops", "headers": {}}', 'not_json'],
    ['{"value": {"meter_id": "m"}, "headers": {"n": 1}}', 'bad_headers'],
    ['{"value": {"meter_id": "m"}, "headers": ["a"]}', 'bad_headers'],
    ['{"value": {"site_id": "S"}, "headers": {}}', 'missing_key'],
    ['{"building_id": "b"}', 'missing_key'],
    ['{"meter_id": ""}', 'missing_key'],
    ['{"meter_id": 7}', 'missing_key'],
  ])('%s → %s', (line, reason) => {
    expect(reasonOf(line)).toBe(reason);
  });

  it('missing_key names the field and points a weather observation at --topic weather', () => {
    expect(mapJsonLine(JSON.stringify(weather), 'raw', MAX)).toEqual({
      refused: { reason: 'missing_key', detail: 'no meter_id (it has site_id: publish it with --topic weather)' },
    });
    expect(mapJsonLine(JSON.stringify(reading), 'weather', MAX)).toEqual({
      refused: { reason: 'missing_key', detail: 'no site_id (it has meter_id: publish it with --topic raw)' },
    });
  });

  it('too_large counts key, value and headers against the limit', () => {
    const line = JSON.stringify({ meter_id: 'm', pad: 'x'.repeat(100) });
    const bytes = recordBytes({ key: 'm', value: line });
    expect(bytes).toBe(1 + line.length);
    expect(reasonOf(line, 'raw', bytes)).toBe('sent');
    expect(reasonOf(line, 'raw', bytes - 1)).toBe('too_large');
    const envelope = JSON.stringify({ value: JSON.parse(line), headers: { h: 'v' } });
    expect(reasonOf(envelope, 'raw', bytes + 2)).toBe('sent');
    expect(reasonOf(envelope, 'raw', bytes + 1)).toBe('too_large');
  });
});

async function* chunks(...parts: (string | Buffer)[]) {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}
const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

describe('readLines', () => {
  it('numbers LF and CRLF lines across chunk boundaries, drops a BOM, keeps a last line without newline', async () => {
    const lines = await collect(readLines(chunks('\ufeffab', 'c\r\n\nd', 'e\r', '\nlast'), 100));
    expect(lines).toEqual([
      { line: 1, text: 'abc' },
      { line: 2, text: '' },
      { line: 3, text: 'de' },
      { line: 4, text: 'last' },
    ]);
  });

  it('does not hold a line over the cap: reports its size instead', async () => {
    const lines = await collect(readLines(chunks('ok\n', 'x'.repeat(30), 'x'.repeat(30), '\nnext\n'), 50));
    expect(lines).toEqual([
      { line: 1, text: 'ok' },
      { line: 2, problem: 'too_long', bytes: 60 },
      { line: 3, text: 'next' },
    ]);
  });

  it('reports a line that is not UTF-8 rather than altering it', async () => {
    const lines = await collect(readLines(chunks(Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), 'ok'), 100));
    expect(lines).toEqual([
      { line: 1, problem: 'not_utf8', bytes: 3 },
      { line: 2, text: 'ok' },
    ]);
  });
});

describe('PublishCounts', () => {
  it('one key=value summary line, refusals by reason, the refused lines listed up to a bound', () => {
    const notes: string[] = [];
    const counts = new PublishCounts('eaio.readings.raw.v1', 2, (l) => notes.push(l));
    counts.sent = 12;
    counts.refuse(3, 'not_json', 'a');
    counts.refuse(5, 'too_large', 'b');
    counts.refuse(9, 'not_json', 'c');
    expect(counts.summary()).toBe(
      'sent=12 refused=3 refused_not_json=2 refused_too_large=1 topic=eaio.readings.raw.v1',
    );
    expect(notes).toEqual(['line 3: refused (not_json): a', 'line 5: refused (too_large): b']);
    expect(counts.unlisted()).toBe(1);
  });
});

describe('parsePublishArgs', () => {
  it('defaults: raw topic, detected format, 1 MB limit; "-" or piped input is standard input', () => {
    expect(parsePublishArgs(['f.jsonl'], true)).toEqual({ topic: 'raw', maxBytes: 1_000_000, file: 'f.jsonl' });
    expect(parsePublishArgs(['-'], true).file).toBe('-');
    expect(parsePublishArgs([], false).file).toBe('-');
    expect(
      parsePublishArgs(['--topic', 'weather', '--format', 'jsonl', '--max-bytes', '2048', 'w.jsonl'], true),
    ).toEqual({ topic: 'weather', format: 'jsonl', maxBytes: 2048, file: 'w.jsonl' });
  });

  it.each([
    [[]],
    [['--topic', 'validated', 'f']],
    [['--format', 'xml', 'f']],
    [['--max-bytes', 'lots', 'f']],
    [['a', 'b']],
    [['--nope', 'f']],
    [['--topic', 'weather', '--format', 'csv', 'f']],
  ])('usage error: %j', (argv) => {
    expect(() => parsePublishArgs(argv, true)).toThrow(UsageError);
  });
});

describe('every refusal reason is explained', () => {
  it('in --help and in docs/messages.md "Publishing your own readings"', async () => {
    const { readFileSync } = await import('node:fs');
    const { publishCommand } = await import('../../cli/commands/publish.js');
    const docs = readFileSync('docs/messages.md', 'utf8');
    const section = docs.slice(docs.indexOf('## Publishing your own readings'), docs.indexOf('## Dead-letter codes'));
    for (const reason of REFUSAL_REASONS) {
      expect(publishCommand.usage, reason).toContain(reason);
      expect(section, reason).toContain(`\`${reason}\``);
    }
  });
});
