/**
 * A small RFC 4180 CSV reader: quoted fields (with `""` escapes, commas and line breaks inside),
 * CRLF or LF line ends, chunked input. BDG2 files are CRLF; metadata.csv has quoted cells
 * (e.g. `"1,515"`). Kept dependency-free and incremental so the wide meter files (≈1,500 columns ×
 * 17,544 rows upstream) can be read as a stream without holding them in memory.
 */
export class CsvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'CsvError';
  }
}

const QUOTE = 34; // "
const COMMA = 44;
const LF = 10;
const CR = 13;

export class CsvParser {
  private field = '';
  private record: string[] = [];
  private inQuotes = false;
  /** Inside a quoted field, the previous character was a quote: either an escape or the closing quote. */
  private quotePending = false;
  /** The previous chunk ended in CR; a leading LF of the next chunk belongs to it. */
  private crPending = false;
  /** True once the current record has any content (so an empty line is not a record). */
  private started = false;
  private line = 1;

  /** Feeds a chunk; returns the records completed by it. */
  push(chunk: string): string[][] {
    const out: string[][] = [];
    let i = 0;
    const n = chunk.length;
    if (this.crPending) {
      this.crPending = false;
      if (n > 0 && chunk.charCodeAt(0) === LF) i = 1;
    }
    while (i < n) {
      const c = chunk.charCodeAt(i);
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false;
          if (c === QUOTE) {
            this.field += '"';
            i++;
            continue;
          }
          this.inQuotes = false; // that quote closed the field; `c` is handled below
          if (c !== COMMA && c !== CR && c !== LF) {
            throw new CsvError(`unexpected character ${JSON.stringify(chunk[i])} after a closing quote`, this.line);
          }
        } else {
          if (c === QUOTE) this.quotePending = true;
          else {
            if (c === LF) this.line++;
            this.field += chunk[i];
          }
          i++;
          continue;
        }
      }
      if (c === COMMA) {
        this.record.push(this.field);
        this.field = '';
        this.started = true;
        i++;
      } else if (c === CR || c === LF) {
        if (this.started || this.field !== '') {
          this.record.push(this.field);
          out.push(this.record);
        }
        this.record = [];
        this.field = '';
        this.started = false;
        this.line++;
        i++;
        if (c === CR) {
          if (i < n) {
            if (chunk.charCodeAt(i) === LF) i++;
          } else this.crPending = true;
        }
      } else if (c === QUOTE && this.field === '') {
        this.inQuotes = true;
        this.started = true;
        i++;
      } else {
        // Fast path: copy a run of plain characters at once.
        let j = i + 1;
        while (j < n) {
          const d = chunk.charCodeAt(j);
          if (d === COMMA || d === CR || d === LF) break;
          j++;
        }
        this.field += chunk.slice(i, j);
        this.started = true;
        i = j;
      }
    }
    return out;
  }

  /** Ends the input; returns the last record if the text did not end with a line break. */
  end(): string[][] {
    if (this.inQuotes && !this.quotePending) throw new CsvError('unterminated quoted field at end of input', this.line);
    this.inQuotes = false;
    this.quotePending = false;
    if (!this.started && this.field === '') return [];
    this.record.push(this.field);
    const last = this.record;
    this.record = [];
    this.field = '';
    this.started = false;
    return [last];
  }
}

export function parseCsv(text: string): string[][] {
  const parser = new CsvParser();
  return [...parser.push(text), ...parser.end()];
}

/** Records of a CSV file as an async stream; memory stays at one chunk plus one record. */
export async function* readCsvRecords(chunks: AsyncIterable<string | Buffer>): AsyncGenerator<string[]> {
  const parser = new CsvParser();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    yield* parser.push(text);
  }
  yield* parser.push(decoder.decode());
  yield* parser.end();
}

/** Header-keyed rows; every record must have as many fields as the header. */
export function toObjects(records: readonly string[][], source: string): Record<string, string>[] {
  const [header, ...rows] = records;
  if (!header) throw new Error(`${source}: empty file (no header line)`);
  return rows.map((row, index) => {
    if (row.length !== header.length) {
      throw new Error(`${source}: line ${index + 2} has ${row.length} fields, the header has ${header.length}`);
    }
    const obj: Record<string, string> = {};
    header.forEach((name, k) => {
      obj[name] = row[k] ?? '';
    });
    return obj;
  });
}
