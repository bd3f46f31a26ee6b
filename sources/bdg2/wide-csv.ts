import { createReadStream } from 'node:fs';
import { readCsvRecords } from './csv.js';

/**
 * BDG2 wide meter files (`meters/{cleaned,raw}/<type>[_cleaned].csv`): header
 * `timestamp,<building_id>,…`, one row per local hour, an empty cell = no reading. Read as a
 * stream, one row at a time: the upstream files are ≈1,500 columns × 17,544 rows.
 */
export interface WideCell {
  readonly column: string;
  /** The cell text exactly as in the file (never empty). */
  readonly value: string;
}

export interface WideRow {
  /** Naive local timestamp as written, `YYYY-MM-DD HH:MM:SS`. */
  readonly localTime: string;
  /** 1-based line number (header = 1). */
  readonly line: number;
  /** Non-empty cells only, in column order. */
  readonly cells: readonly WideCell[];
}

export class WideCsvError extends Error {
  override name = 'WideCsvError';
}

export interface WideFile {
  readonly path: string;
  /** Building columns in file order (the timestamp column excluded). */
  columns(): Promise<readonly string[]>;
  rows(): AsyncGenerator<WideRow>;
  /** Bytes consumed so far, for progress. */
  bytesRead(): number;
}

export function openWideFile(path: string): WideFile {
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  const records = readCsvRecords(stream);
  let header: string[] | undefined;

  const readHeader = async (): Promise<string[]> => {
    if (header) return header;
    const first = await records.next();
    if (first.done) throw new WideCsvError(`${path}: empty file`);
    if (first.value[0] !== 'timestamp') {
      throw new WideCsvError(
        `${path}: first column is "${first.value[0]}", expected "timestamp" (a BDG2 wide meter file)`,
      );
    }
    header = first.value;
    return header;
  };

  return {
    path,
    bytesRead: () => stream.bytesRead,
    async columns() {
      return (await readHeader()).slice(1);
    },
    async *rows() {
      const names = await readHeader();
      let line = 1;
      for await (const record of records) {
        line++;
        if (record.length !== names.length) {
          throw new WideCsvError(`${path}: line ${line} has ${record.length} fields, the header has ${names.length}`);
        }
        const localTime = record[0] ?? '';
        const cells: WideCell[] = [];
        for (let i = 1; i < record.length; i++) {
          const value = record[i];
          if (value !== undefined && value !== '') cells.push({ column: names[i] ?? '', value });
        }
        yield { localTime, line, cells };
      }
    },
  };
}
