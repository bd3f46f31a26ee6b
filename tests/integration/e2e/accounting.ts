/**
 * Exact accounting of a pipeline run against the source: every expected reading is a row with
 * the same value, unit and weather, or a dead letter with a reason; nothing else is in the table;
 * no reading is both or twice. Returns the differences (empty lists = exact) so a failing test
 * shows which readings went wrong, not just a count.
 */
import { type Expected, readingKey, WEATHER_COLUMNS, type WeatherColumn } from './bdg2-expected.js';
import type { DeadLetter, TableRow } from './pipeline-processes.js';

export interface AccountingDiff {
  readonly missing: string[];
  readonly unexpectedRows: string[];
  readonly duplicateRows: string[];
  readonly rowAndDeadLetter: string[];
  readonly duplicateDeadLetters: string[];
  readonly deadLettersWithoutReason: string[];
  readonly valueMismatches: string[];
  readonly weatherMismatches: string[];
}

const FIRST = 10;
const cap = (list: string[]) => list.slice(0, FIRST);

/** Stored as `real`: compare with the float32 rounding of the CSV value. */
const stored = (v: number | null) => (v === null ? null : Math.fround(v));

export function account(
  expected: Expected,
  rows: readonly TableRow[],
  deadLetters: readonly DeadLetter[],
): AccountingDiff {
  const diff = {
    missing: [] as string[],
    unexpectedRows: [] as string[],
    duplicateRows: [] as string[],
    rowAndDeadLetter: [] as string[],
    duplicateDeadLetters: [] as string[],
    deadLettersWithoutReason: [] as string[],
    valueMismatches: [] as string[],
    weatherMismatches: [] as string[],
  };
  const rowKeys = new Set<string>();
  for (const row of rows) {
    const key = readingKey(row.meter_id, row.time);
    if (rowKeys.has(key)) diff.duplicateRows.push(key);
    rowKeys.add(key);
    const want = expected.readings.get(key);
    if (!want) {
      diff.unexpectedRows.push(key);
      continue;
    }
    if (row.value !== want.value || row.unit !== want.unit || row.site_id !== want.siteId) {
      diff.valueMismatches.push(
        `${key}: ${row.value} ${row.unit} @${row.site_id}, expected ${want.value} ${want.unit} @${want.siteId}`,
      );
    }
    for (const column of Object.keys(WEATHER_COLUMNS) as WeatherColumn[]) {
      const wanted = want.weather === null ? null : stored(want.weather[column]);
      if (row[column] !== wanted) {
        diff.weatherMismatches.push(
          `${key}: ${column} ${row[column]}, expected ${wanted}${want.weather ? '' : ' (no observation within tolerance)'}`,
        );
        break;
      }
    }
  }
  const deadKeys = new Set<string>();
  for (const dead of deadLetters) {
    if (deadKeys.has(dead.key)) diff.duplicateDeadLetters.push(dead.key);
    deadKeys.add(dead.key);
    if (rowKeys.has(dead.key)) diff.rowAndDeadLetter.push(dead.key);
    if (!/^[a-z][a-z0-9_]*$/.test(dead.code) || dead.message.trim() === '') {
      diff.deadLettersWithoutReason.push(`${dead.stage} ${dead.key}: "${dead.code}" "${dead.message}"`);
    }
  }
  for (const key of expected.readings.keys()) if (!rowKeys.has(key) && !deadKeys.has(key)) diff.missing.push(key);
  return {
    missing: cap(diff.missing),
    unexpectedRows: cap(diff.unexpectedRows),
    duplicateRows: cap(diff.duplicateRows),
    rowAndDeadLetter: cap(diff.rowAndDeadLetter),
    duplicateDeadLetters: cap(diff.duplicateDeadLetters),
    deadLettersWithoutReason: cap(diff.deadLettersWithoutReason),
    valueMismatches: cap(diff.valueMismatches),
    weatherMismatches: cap(diff.weatherMismatches),
  };
}

export const EXACT: AccountingDiff = {
  missing: [],
  unexpectedRows: [],
  duplicateRows: [],
  rowAndDeadLetter: [],
  duplicateDeadLetters: [],
  deadLettersWithoutReason: [],
  valueMismatches: [],
  weatherMismatches: [],
};
