import type { DeadLetterKind, StageCodes } from '../../pipeline/index.js';

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

/**
 * Each code by what fixes it (pipeline/codes.ts `DeadLetterKind`). Environment: the catalog
 * (`eaio import`) or the clock and `EAIO_VALIDATE_FUTURE_SKEW_S`: a reading from the future is
 * accepted once its hour has come. The mismatch codes are content: the catalog is the reference,
 * and a producer's wrong id or site is the usual cause (docs/messages.md).
 */
export const VALIDATE_DEAD_LETTER_KINDS = {
  invalid_encoding: 'content',
  invalid_json: 'content',
  payload_not_object: 'content',
  unsupported_schema_version: 'content',
  schema_violation: 'content',
  unknown_meter_type: 'content',
  meter_id_malformed: 'content',
  meter_id_building_mismatch: 'content',
  meter_type_mismatch: 'content',
  unknown_building: 'environment',
  unknown_meter: 'environment',
  site_mismatch: 'content',
  unknown_unit: 'content',
  ambiguous_unit: 'content',
  unit_incompatible: 'content',
  value_missing: 'content',
  value_not_finite: 'content',
  value_negative: 'content',
  value_above_ceiling: 'content',
  timestamp_unparseable: 'content',
  timestamp_missing_offset: 'content',
  timestamp_in_future: 'environment',
  timestamp_before_2000: 'content',
} as const satisfies Record<ValidateDeadLetterCode, DeadLetterKind>;

export const VALIDATE_SKIP_REASONS = ['duplicate_in_batch'] as const;

export type ValidateSkipReason = (typeof VALIDATE_SKIP_REASONS)[number];

export const validateCodes = {
  deadLetterCodes: VALIDATE_DEAD_LETTER_CODES,
  deadLetterKinds: VALIDATE_DEAD_LETTER_KINDS,
  skipReasons: VALIDATE_SKIP_REASONS,
} as const satisfies StageCodes;
