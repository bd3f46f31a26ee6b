import type { StageCodes } from '../../pipeline/index.js';

/**
 * Every code a rejected reading can get, in the order the rules check (rules.ts). A schema
 * violation names its field in the message (`schema_violation:<field>` in the rules): the field
 * is not part of the code, which is a metric label.
 */
export const VALIDATE_DEAD_LETTER_CODES = [
  'invalid_encoding',
  'invalid_json',
  'payload_not_object',
  'unsupported_schema_version',
  'schema_violation',
  'unknown_meter_type',
  'meter_id_malformed',
  'meter_id_building_mismatch',
  'meter_type_mismatch',
  'unknown_building',
  'unknown_meter',
  'site_mismatch',
  'unknown_unit',
  'ambiguous_unit',
  'unit_incompatible',
  'value_missing',
  'value_not_finite',
  'value_negative',
  'value_above_ceiling',
  'timestamp_unparseable',
  'timestamp_missing_offset',
  'timestamp_in_future',
  'timestamp_before_2000',
] as const;

export type ValidateDeadLetterCode = (typeof VALIDATE_DEAD_LETTER_CODES)[number];

export const VALIDATE_SKIP_REASONS = ['duplicate_in_batch'] as const;

export type ValidateSkipReason = (typeof VALIDATE_SKIP_REASONS)[number];

export const validateCodes = {
  deadLetterCodes: VALIDATE_DEAD_LETTER_CODES,
  skipReasons: VALIDATE_SKIP_REASONS,
} as const satisfies StageCodes;
