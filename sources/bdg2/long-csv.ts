import { parseMeterId } from '../../domain/ids.js';
import { SCHEMA_VERSION } from '../../domain/messages.js';
import { METER_TYPE_SPECS } from '../../domain/meter-types.js';
import { CsvError, parseCsv } from './csv.js';
import { localToUtc } from './local-time.js';
import type { BuildingZone } from './replay-events.js';

/**
 * Meter readings in the long CSV form, one reading per row: `timestamp,meter_id,value` and
 * optionally `unit`, `site_id`, `is_estimated`, `source` (the BDG2 long layout of weather.csv,
 * applied to meters). Mapped to a RawReading the way `eaio replay` maps the wide files: meter id
 * `building:type` (building and type are taken from it), the meter type's BDG2 unit when there
 * is no unit column, an empty value is no reading. A timestamp with `Z` or an offset is used as it
 * is; a naive BDG2 local time is converted with the building's site time zone
 * from metadata.csv, and without it the row cannot be converted.
 */
export const LONG_REQUIRED = ['timestamp', 'meter_id', 'value'] as const;
export const LONG_OPTIONAL = ['unit', 'site_id', 'is_estimated', 'source'] as const;
type Column = (typeof LONG_REQUIRED)[number] | (typeof LONG_OPTIONAL)[number];

export interface LongHeader {
  readonly columns: number;
  readonly index: Partial<Record<Column, number>>;
  /** Columns the mapping does not use. */
  readonly ignored: readonly string[];
}

export type LongRow =
  | { readonly reading: Record<string, unknown> }
  | { readonly empty: true }
  | {
      readonly problem: 'bad_csv_row' | 'not_a_number' | 'no_time_zone' | 'nonexistent_local_time';
      readonly detail: string;
    };

/** The header line's columns, or what is wrong with it. */
export function parseLongHeader(line: string): LongHeader | { readonly error: string } {
  let fields: string[];
  try {
    fields = (parseCsv(line)[0] ?? []).map((f) => f.trim());
  } catch (error) {
    return { error: (error as Error).message };
  }
  const missing = LONG_REQUIRED.filter((c) => !fields.includes(c));
  if (missing.length > 0) {
    return {
      error: `the CSV header "${line.slice(0, 120)}" lacks ${missing.join(', ')}; expected ${LONG_REQUIRED.join(',')}[,${LONG_OPTIONAL.join(',')}]`,
    };
  }
  const index: Partial<Record<Column, number>> = {};
  const known = new Set<string>([...LONG_REQUIRED, ...LONG_OPTIONAL]);
  for (const [i, name] of fields.entries())
    if (known.has(name) && index[name as Column] === undefined) index[name as Column] = i;
  return { columns: fields.length, index, ignored: fields.filter((f) => !known.has(f)) };
}

const WITH_OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;

type Timing = { time: string; local?: string } | { problem: 'no_time_zone' | 'nonexistent_local_time'; detail: string };

function toUtc(
  timestamp: string,
  buildingId: string | undefined,
  zones: ReadonlyMap<string, BuildingZone> | undefined,
): Timing {
  // Sent as written: validate reads it, normalises it to UTC or names what is wrong with it (a
  // Date.parse here would turn 30 February into 2 March).
  if (WITH_OFFSET.test(timestamp)) return { time: timestamp };
  if (!zones) {
    return {
      problem: 'no_time_zone',
      detail: `"${timestamp}" is a local time: give --bdg2-metadata FILE (site time zones) or write UTC times with Z`,
    };
  }
  if (buildingId === undefined) {
    return {
      problem: 'no_time_zone',
      detail: 'the meter_id is not <building>:<type>, so its site time zone is unknown',
    };
  }
  const zone = zones.get(buildingId);
  if (!zone) return { problem: 'no_time_zone', detail: `building ${buildingId} is not in the metadata file` };
  const utc = localToUtc(timestamp, zone.timezone);
  if (utc.kind === 'nonexistent') {
    return { problem: 'nonexistent_local_time', detail: `"${timestamp}" does not exist in ${zone.timezone} (DST gap)` };
  }
  // A text that is no local time goes as it is: validate names it.
  if (utc.kind === 'invalid') return { time: timestamp, local: timestamp };
  return { time: new Date(utc.utcMs).toISOString(), local: timestamp };
}

const BOOLEAN: Record<string, boolean> = { true: true, false: false, '1': true, '0': false };

export function mapLongRow(
  line: string,
  header: LongHeader,
  zones: ReadonlyMap<string, BuildingZone> | undefined,
  defaultSource: string,
): LongRow {
  let records: string[][];
  try {
    records = parseCsv(line);
  } catch (error) {
    return {
      problem: 'bad_csv_row',
      detail: error instanceof CsvError ? error.message.replace(/^line \d+: /, '') : String(error),
    };
  }
  const fields = records[0] ?? [];
  if (records.length !== 1 || fields.length !== header.columns) {
    return { problem: 'bad_csv_row', detail: `${fields.length} fields, the header has ${header.columns}` };
  }
  const cell = (c: Column): string | undefined => {
    const i = header.index[c];
    return i === undefined ? undefined : (fields[i] ?? '').trim();
  };
  const rawValue = cell('value') ?? '';
  if (rawValue === '') return { empty: true };
  const value = Number(rawValue);
  if (!Number.isFinite(value)) return { problem: 'not_a_number', detail: `value "${rawValue.slice(0, 40)}"` };

  const meterId = cell('meter_id') ?? '';
  const parsed = parseMeterId(meterId);
  const timing = toUtc(cell('timestamp') ?? '', parsed?.buildingId, zones);
  if ('problem' in timing) return timing;

  const unit = cell('unit') || (parsed ? METER_TYPE_SPECS[parsed.meterType].unit : undefined);
  const siteId = cell('site_id') || (parsed ? zones?.get(parsed.buildingId)?.siteId : undefined);
  const estimated = cell('is_estimated');
  const reading: Record<string, unknown> = {
    schema_version: SCHEMA_VERSION,
    meter_id: meterId,
    ...(parsed ? { building_id: parsed.buildingId, meter_type: parsed.meterType } : {}),
    ...(siteId ? { site_id: siteId } : {}),
    time: timing.time,
    value,
    ...(unit ? { unit } : {}),
    // Anything but true/false/1/0 goes as it is, for validate to name.
    ...(estimated ? { is_estimated: BOOLEAN[estimated.toLowerCase()] ?? estimated } : {}),
    source: cell('source') || defaultSource,
    ...(timing.local ? { local_time: timing.local } : {}),
  };
  return { reading };
}
