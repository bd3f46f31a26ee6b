import { parseMeterId } from '../../domain/ids.js';
import { type RawReading, RawReadingSchema, SCHEMA_VERSION, type ValidatedReading } from '../../domain/messages.js';
import { isMeterType, METER_TYPE_SPECS, type MeterType } from '../../domain/meter-types.js';
import { remember } from '../../domain/remember.js';
import { isoTime, parseTime } from '../../domain/time-memo.js';
import type { ValidateDeadLetterCode, ValidateSkipReason } from './codes.js';
import { conformsToRawReading } from './conforms.js';
import { toCanonical } from './units.js';

/**
 * The validate stage's rules, pure: everything they need (the catalog of known buildings and
 * meters, the clock) comes in as arguments. Each rejected reading gets exactly one specific code;
 * the checks run from the cheapest and most basic (is it JSON?) to the most semantic (is the value
 * plausible for this meter type?), so the code names the first thing that is wrong.
 */
export type ValidationCode = Exclude<ValidateDeadLetterCode, 'schema_violation'> | `schema_violation:${string}`;

export type Rejection = { readonly ok: false; readonly code: ValidationCode; readonly message: string };
export type ValidationResult = { readonly ok: true; readonly reading: ValidatedReading } | Rejection;

/** Known buildings and meters (stages/validate/catalog.ts loads it from PostgreSQL). */
export interface Catalog {
  building(buildingId: string): { readonly siteId: string } | undefined;
  meter(meterId: string): { readonly buildingId: string; readonly meterType: MeterType } | undefined;
}

export interface ValidationOptions {
  /** How far ahead of `now` a reading's hour may start (clock skew of producers). Default 15 min. */
  readonly futureSkewMs?: number;
}

export const EARLIEST_READING_MS = Date.UTC(2000, 0, 1);
const DEFAULT_FUTURE_SKEW_MS = 15 * 60_000;

const reject = (code: ValidationCode, message: string): Rejection => ({ ok: false, code, message });

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes off the wire → a JSON value (or the reason it is not one). */
export function decodeJson(bytes: Buffer | string | null): { ok: true; value: unknown } | Rejection {
  if (bytes === null) return reject('invalid_json', 'empty message value (tombstone)');
  let text: string;
  if (typeof bytes === 'string') text = bytes;
  else {
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      return reject('invalid_encoding', 'message value is not UTF-8');
    }
  }
  if (text.trim() === '') return reject('invalid_json', 'empty message value');
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return reject('invalid_json', `not JSON: ${(error as Error).message}`);
  }
}

const NAIVE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const timeSchema = RawReadingSchema.shape.time;

/** What is wrong with a time string, if anything; remembered (a batch repeats the same few hours). */
const timeProblem = remember((time: string): Rejection | undefined => {
  if (NAIVE_TIME.test(time.trim())) {
    return reject(
      'timestamp_missing_offset',
      `time "${time}" has no UTC offset; send UTC with Z (e.g. 2017-03-12T07:00:00Z)`,
    );
  }
  if (!timeSchema.safeParse(time).success || Number.isNaN(parseTime(time))) {
    return reject('timestamp_unparseable', `time "${time}" is not an ISO-8601 date-time with offset`);
  }
  return undefined;
});

/** The fast check's time verdict inside validateReading: precheck has already rejected a bad time string. */
const checkedByPrecheck = (): boolean => true;

/** Checks that need a more specific code than the schema's, run before it. */
function precheck(obj: Record<string, unknown>): Rejection | undefined {
  if (!('schema_version' in obj)) return reject('schema_violation:schema_version', 'schema_version is missing');
  if (obj.schema_version !== SCHEMA_VERSION) {
    return reject(
      'unsupported_schema_version',
      `schema_version ${JSON.stringify(obj.schema_version)} is not supported (expected ${SCHEMA_VERSION})`,
    );
  }
  if (obj.value === null) return reject('value_missing', 'value is null (a missing reading should not be sent)');
  if (typeof obj.value === 'number' && !Number.isFinite(obj.value))
    return reject('value_not_finite', `value ${obj.value} is not finite`);
  if (typeof obj.time === 'string') {
    const problem = timeProblem(obj.time);
    if (problem) return problem;
  }
  if (typeof obj.meter_type === 'string' && !isMeterType(obj.meter_type)) {
    return reject(
      'unknown_meter_type',
      `meter_type "${obj.meter_type}" is not one of ${Object.keys(METER_TYPE_SPECS).join(', ')}`,
    );
  }
  return undefined;
}

export function validateReading(
  raw: unknown,
  catalog: Catalog,
  now: Date,
  options: ValidationOptions = {},
): ValidationResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return reject(
      'payload_not_object',
      `payload is ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : `a ${typeof raw}`}, expected an object`,
    );
  }
  const obj = raw as Record<string, unknown>;
  const early = precheck(obj);
  if (early) return early;

  let r: RawReading;
  if (conformsToRawReading(obj, checkedByPrecheck)) r = obj;
  else {
    const parsed = RawReadingSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = String(issue?.path[0] ?? 'payload');
      return reject(`schema_violation:${field}`, `${field}: ${issue?.message ?? 'invalid'}`);
    }
    r = parsed.data;
  }

  const id = parseMeterId(r.meter_id);
  if (!id) return reject('meter_id_malformed', `meter_id "${r.meter_id}" is not "<building_id>:<meter_type>"`);
  if (id.buildingId !== r.building_id) {
    return reject(
      'meter_id_building_mismatch',
      `meter_id "${r.meter_id}" belongs to building ${id.buildingId}, not ${r.building_id}`,
    );
  }
  if (id.meterType !== r.meter_type) {
    return reject(
      'meter_type_mismatch',
      `meter_id "${r.meter_id}" is a ${id.meterType} meter, but meter_type is ${r.meter_type}`,
    );
  }

  const building = catalog.building(r.building_id);
  if (!building)
    return reject('unknown_building', `building ${r.building_id} is not in the catalog (run \`eaio import\`)`);
  const meter = catalog.meter(r.meter_id);
  if (!meter) return reject('unknown_meter', `building ${r.building_id} has no ${r.meter_type} meter in the catalog`);
  if (meter.meterType !== r.meter_type) {
    return reject(
      'meter_type_mismatch',
      `catalog meter ${r.meter_id} is ${meter.meterType}, the reading says ${r.meter_type}`,
    );
  }
  if (r.site_id !== undefined && r.site_id !== building.siteId) {
    return reject('site_mismatch', `building ${r.building_id} is on site ${building.siteId}, not ${r.site_id}`);
  }

  const timeMs = parseTime(r.time);
  if (timeMs < EARLIEST_READING_MS) return reject('timestamp_before_2000', `time ${r.time} is before 2000-01-01`);
  const skew = options.futureSkewMs ?? DEFAULT_FUTURE_SKEW_MS;
  if (timeMs > now.getTime() + skew) {
    return reject(
      'timestamp_in_future',
      `time ${r.time} is more than ${Math.round(skew / 60_000)} min after now (${now.toISOString()})`,
    );
  }

  const converted = toCanonical(r.value, r.unit, r.meter_type);
  if (!converted.ok) return reject(converted.code, converted.message);
  if (!Number.isFinite(converted.value))
    return reject(
      'value_not_finite',
      `value ${r.value} ${r.unit} overflows when converted to ${METER_TYPE_SPECS[r.meter_type].unit}`,
    );
  const spec = METER_TYPE_SPECS[r.meter_type];
  if (converted.value < 0 && !spec.allowsNegative) {
    return reject(
      'value_negative',
      `value ${r.value} ${r.unit} is negative; ${r.meter_type} meters cannot run backwards`,
    );
  }
  if (converted.value > spec.ceilingPerHour) {
    return reject(
      'value_above_ceiling',
      `value ${converted.value} ${spec.unit} is above the ${r.meter_type} ceiling of ${spec.ceilingPerHour} ${spec.unit} per hour`,
    );
  }

  return {
    ok: true,
    reading: {
      schema_version: SCHEMA_VERSION,
      meter_id: r.meter_id,
      building_id: r.building_id,
      site_id: building.siteId,
      meter_type: r.meter_type,
      time: isoTime(timeMs),
      value: converted.value,
      unit: converted.unit,
      original_value: r.value,
      original_unit: r.unit,
      is_estimated: r.is_estimated ?? false,
      quality_code: r.is_estimated ? 'estimated' : 'measured',
      source: r.source,
    },
  };
}

export type BatchItemResult =
  | ValidationResult
  | { readonly ok: false; readonly skip: ValidateSkipReason; readonly message: string };

/**
 * Validates a batch. A repeat of the same normalised reading (same meter, instant, canonical value
 * and every other field but how the value was written) within the batch is a `skip`, not an error: replays and producer retries
 * duplicate messages. A different version of the meter's hour is a correction and passes like any
 * reading: the latest wins in the writer, which counts it, whether the two meet in one batch or
 * not (docs/messages.md, "Corrections").
 */
export function validateBatch(
  raws: readonly unknown[],
  catalog: Catalog,
  now: Date,
  options: ValidationOptions = {},
): BatchItemResult[] {
  const seen = new Map<string, ValidatedReading>();
  return raws.map((raw) => {
    const result = validateReading(raw, catalog, now, options);
    if (!result.ok) return result;
    const key = `${result.reading.meter_id}@${result.reading.time}`;
    const earlier = seen.get(key);
    if (earlier !== undefined && sameVersion(earlier, result.reading))
      return {
        ok: false,
        skip: 'duplicate_in_batch',
        message: `duplicate of an earlier reading in this batch: ${key}`,
      };
    seen.set(key, result.reading);
    return result;
  });
}

/** How a value was written (5,000 Wh or 5 kWh) does not make another version of the reading. */
const SPELLING_FIELDS: ReadonlySet<string> = new Set(['original_value', 'original_unit']);

/**
 * Two normalised readings of one meter and hour are the same version when every other field
 * matches: the writer compares the same fields (what meter_readings stores) to count corrections.
 */
function sameVersion(a: ValidatedReading, b: ValidatedReading): boolean {
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof ValidatedReading>;
  for (const field of fields) if (!SPELLING_FIELDS.has(field) && a[field] !== b[field]) return false;
  return true;
}
