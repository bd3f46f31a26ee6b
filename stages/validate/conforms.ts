import { type RawReading, RawReadingSchema, SCHEMA_VERSION } from '../../domain/messages.js';
import { isMeterType } from '../../domain/meter-types.js';

/**
 * RawReadingSchema's verdict for the common case without running zod, which costs a parse and
 * a copy per reading on the hottest path of the pipeline. Sound, not complete: `true` only for
 * an object zod accepts as it is (the stage reads only the schema's fields, so zod's stripping
 * of unknown keys changes nothing it sees); `false` means "ask zod", which names the problem.
 * The time is NOT checked here: `isValidTime` is passed in (validate remembers its verdicts).
 * stages/validate/conforms.test.ts compares this with zod on valid and malformed readings.
 */
const shape = RawReadingSchema.shape;
const bounds = {
  meter_id: [shape.meter_id.minLength ?? 0, shape.meter_id.maxLength ?? Infinity],
  building_id: [shape.building_id.minLength ?? 0, shape.building_id.maxLength ?? Infinity],
  site_id: [shape.site_id.unwrap().minLength ?? 0, shape.site_id.unwrap().maxLength ?? Infinity],
  unit: [shape.unit.minLength ?? 0, shape.unit.maxLength ?? Infinity],
  source: [shape.source.minLength ?? 0, shape.source.maxLength ?? Infinity],
  local_time: [shape.local_time.unwrap().minLength ?? 0, shape.local_time.unwrap().maxLength ?? Infinity],
} as const;

type Bounded = keyof typeof bounds;

function isString(obj: Record<string, unknown>, key: Bounded): boolean {
  const v = obj[key];
  const [min, max] = bounds[key];
  return typeof v === 'string' && v.length >= min && v.length <= max;
}

export function conformsToRawReading(
  obj: Record<string, unknown>,
  isValidTime: (time: string) => boolean,
): obj is Record<string, unknown> & RawReading {
  return (
    obj.schema_version === SCHEMA_VERSION &&
    isString(obj, 'meter_id') &&
    isString(obj, 'building_id') &&
    (obj.site_id === undefined || isString(obj, 'site_id')) &&
    isMeterType(obj.meter_type) &&
    typeof obj.time === 'string' &&
    isValidTime(obj.time) &&
    typeof obj.value === 'number' &&
    Number.isFinite(obj.value) &&
    isString(obj, 'unit') &&
    (obj.is_estimated === undefined || typeof obj.is_estimated === 'boolean') &&
    isString(obj, 'source') &&
    (obj.local_time === undefined || isString(obj, 'local_time'))
  );
}
