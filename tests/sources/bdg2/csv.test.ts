import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CsvParser, parseCsv, readCsvRecords, toObjects } from '../../../sources/bdg2/csv.js';

describe('parseCsv', () => {
  it('reads CRLF records with empty cells', () => {
    expect(parseCsv('a,b,c\r\n1,,3\r\n,,\r\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', '', '3'],
      ['', '', ''],
    ]);
  });

  it('reads LF, a missing final line break and skips blank lines', () => {
    expect(parseCsv('a,b\n\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('handles quotes: commas, escaped quotes and line breaks inside a field', () => {
    expect(parseCsv('x,"1,515","say ""hi""","two\r\nlines",""\r\n')).toEqual([
      ['x', '1,515', 'say "hi"', 'two\r\nlines', ''],
    ]);
  });

  it('rejects text after a closing quote and an unterminated quote', () => {
    expect(() => parseCsv('"ab"c,d\n')).toThrow(/line 1: unexpected character "c"/);
    expect(() => parseCsv('a,"open\n')).toThrow(/unterminated/);
  });

  it('gives the same records whatever the chunk boundaries (CRLF and "" split across chunks)', () => {
    const text = 'a,"q""x",c\r\n1,"2\r\n3",4\r\n';
    const whole = parseCsv(text);
    for (let size = 1; size <= text.length; size++) {
      const parser = new CsvParser();
      const records: string[][] = [];
      for (let i = 0; i < text.length; i += size) records.push(...parser.push(text.slice(i, i + size)));
      records.push(...parser.end());
      expect(records, `chunk size ${size}`).toEqual(whole);
    }
  });

  it('streams records from byte chunks, including a UTF-8 character split across chunks', async () => {
    const bytes = Buffer.from('site,t\r\nZürich,°C\r\n', 'utf8');
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    const records: string[][] = [];
    for await (const r of readCsvRecords(Readable.from(chunks))) records.push(r);
    expect(records).toEqual([
      ['site', 't'],
      ['Zürich', '°C'],
    ]);
  });

  it('keys rows by header and names a ragged line', () => {
    expect(toObjects(parseCsv('a,b\n1,2\n'), 'f.csv')).toEqual([{ a: '1', b: '2' }]);
    expect(() => toObjects(parseCsv('a,b\n1\n'), 'f.csv')).toThrow('f.csv: line 2 has 1 fields, the header has 2');
  });
});
