import { z } from 'zod';
import { METER_TYPES } from './meter-types.js';

/**
 * Payloads of the pipeline's topics, version 1. These zod schemas are the single source: the
 * JSON Schema files in domain/schemas/ are generated from them (`npx tsx scripts/generate-message-schemas.ts`)
 * and docs/messages.md documents them. Within v1 only optional fields may be added; anything
 * else is a new major version on a new topic (see domain/topics.ts).
 */
export const SCHEMA_VERSION = 1 as const;

const schemaVersion = z.literal(SCHEMA_VERSION).describe('Payload schema major version; 1 for this schema.');
const buildingId = z.string().min(1).max(200).describe('BDG2 building id, e.g. `Panther_office_Karla`.');
const siteId = z.string().min(1).max(100).describe('BDG2 site id, e.g. `Panther`.');
const meterId = z
  .string()
  .min(3)
  .max(220)
  .describe('Text meter id `<building_id>:<meter_type>`, e.g. `Panther_office_Karla:electricity`. Kafka key.');
const meterType = z.enum(METER_TYPES).describe('Meter type (BDG2 meter file name).');
const utcTime = z.iso
  .datetime({ offset: true })
  .describe('Start of the hour the value belongs to, ISO-8601 with offset; producers send UTC (`Z`).');
const source = z
  .string()
  .min(1)
  .max(100)
  .describe('Who produced the message, e.g. `bdg2:cleaned`, `bdg2:raw`, `gateway:<name>`.');

export const RawReadingSchema = z
  .object({
    schema_version: schemaVersion,
    meter_id: meterId,
    building_id: buildingId,
    site_id: siteId.optional().describe('Site of the building, if the producer knows it; checked against the catalog.'),
    meter_type: meterType,
    time: utcTime,
    value: z.number().describe('Reading for the hour, in `unit`. Finite; JSON has no NaN (send nothing instead).'),
    unit: z
      .string()
      .min(1)
      .max(32)
      .describe('Unit as measured, e.g. `kWh`, `Wh`, `kBTU`, `therm`, `ton-hour`, `L`, `m3`, `gal`.'),
    is_estimated: z
      .boolean()
      .optional()
      .describe('True when the producer filled the value in rather than measuring it.'),
    source,
    local_time: z
      .string()
      .max(40)
      .optional()
      .describe('The timestamp as found in the source, before time-zone conversion (for tracing).'),
  })
  .meta({
    title: 'RawReading v1',
    description: 'One hourly meter reading as produced, before validation. Topic `readings.raw.v1`, key = meter_id.',
  });
export type RawReading = z.infer<typeof RawReadingSchema>;

export const QUALITY_CODES = ['measured', 'estimated'] as const;

export const ValidatedReadingSchema = z
  .object({
    schema_version: schemaVersion,
    meter_id: meterId,
    building_id: buildingId,
    site_id: siteId,
    meter_type: meterType,
    time: z.iso
      .datetime()
      .describe('Start of the hour, ISO-8601 UTC with `Z`, normalised (milliseconds dropped if zero).'),
    value: z.number().describe('Reading in the canonical unit of the meter type.'),
    unit: z.enum(['kWh', 'L']).describe('Canonical unit: kWh for energy meters, L (litres) for water and irrigation.'),
    original_value: z.number().describe('The value as received.'),
    original_unit: z.string().describe('The unit as received.'),
    is_estimated: z.boolean(),
    quality_code: z.enum(QUALITY_CODES).describe('`measured` or `estimated` (later stages may add flags).'),
    source,
  })
  .meta({
    title: 'ValidatedReading v1',
    description:
      'A reading that passed validation, in canonical units, with the site filled in. Topic `readings.validated.v1`, key = meter_id.',
  });
export type ValidatedReading = z.infer<typeof ValidatedReadingSchema>;

const measurement = (description: string) => z.number().nullable().describe(`${description}; null when not observed.`);

export const WeatherObservationSchema = z
  .object({
    schema_version: schemaVersion,
    site_id: siteId,
    time: utcTime,
    air_temperature: measurement('Air temperature, °C'),
    cloud_coverage: measurement('Cloud cover, oktas (0–8)'),
    dew_temperature: measurement('Dew-point temperature, °C'),
    precip_depth_1h: measurement('Precipitation depth over 1 h, mm (-1 = trace)'),
    precip_depth_6h: measurement('Precipitation depth over 6 h, mm (-1 = trace)'),
    sea_level_pressure: measurement('Sea-level pressure, hPa'),
    wind_direction: measurement('Wind direction, degrees (0–360; 0 with speed 0 = calm)'),
    wind_speed: measurement('Wind speed, m/s'),
    source,
    local_time: z
      .string()
      .max(40)
      .optional()
      .describe('The timestamp as found in the source, before time-zone conversion.'),
  })
  .meta({
    title: 'WeatherObservation v1',
    description: 'Hourly weather at a site (NOAA ISD via BDG2). Topic `weather.raw.v1`, key = site_id.',
  });
export type WeatherObservation = z.infer<typeof WeatherObservationSchema>;

export const EnrichedReadingSchema = ValidatedReadingSchema.extend({
  air_temperature: measurement('Air temperature at the site, °C'),
  cloud_coverage: measurement('Cloud cover, oktas (0–8)'),
  dew_temperature: measurement('Dew-point temperature, °C'),
  precip_depth_1h: measurement('Precipitation depth over 1 h, mm (-1 = trace)'),
  sea_level_pressure: measurement('Sea-level pressure, hPa'),
  wind_direction: measurement('Wind direction, degrees (0–360; 0 with speed 0 = calm)'),
  wind_speed: measurement('Wind speed, m/s'),
  weather_time: z.iso
    .datetime()
    .nullable()
    .describe(
      'Hour of the joined observation (at or before `time`, within the tolerance), ISO-8601 UTC; null when none matched.',
    ),
  weather_missing: z
    .boolean()
    .describe(
      'True when no observation matched within the tolerance, even after the bounded wait; the weather fields are then null.',
    ),
}).meta({
  title: 'EnrichedReading v1',
  description:
    "A validated reading joined as-of with its site's weather (latest observation at or before its hour). Topic `readings.enriched.v1`, key = meter_id.",
});
export type EnrichedReading = z.infer<typeof EnrichedReadingSchema>;

const anomalyScore = z.number().min(0).max(1).describe("The model's anomaly score of the reading, 0 (normal) to 1.");
const expectedValue = z
  .number()
  .nullable()
  .describe(
    "What the meter's own past says this hour should read (same local hour, same kind of day); null without usable history.",
  );
const scoreConfidence = z
  .number()
  .min(0)
  .max(1)
  .describe("Share of the meter's past 7 days with a reading: how much history the score stands on (0 = none).");
const coldStart = z
  .boolean()
  .describe('True when the meter has too little history for a confident score (confidence below the setting).');
const modelVersion = z
  .string()
  .min(1)
  .max(200)
  .describe('The model that scored it: `<file name>@<first 12 hex of its sha256>`.');
const anomalyFeatures = z
  .record(z.string(), z.number())
  .describe('The model inputs of the reading by name (models/anomaly/MODEL_CARD.md): what drove the score.');

export const ScoredReadingSchema = EnrichedReadingSchema.extend({
  anomaly_score: anomalyScore,
  is_anomaly: z.boolean().describe('`anomaly_score >= EAIO_SCORE_ANOMALY_THRESHOLD`.'),
  expected_value: expectedValue,
  confidence: scoreConfidence,
  cold_start: coldStart,
  model_version: modelVersion,
  anomaly_features: anomalyFeatures
    .optional()
    .describe('Present on flagged readings only: the model inputs by name, what drove the score.'),
}).meta({
  title: 'ScoredReading v1',
  description:
    'An enriched reading with its anomaly score, flag, expected value and the model version. Topic `readings.scored.v1`, key = meter_id.',
});
export type ScoredReading = z.infer<typeof ScoredReadingSchema>;

export const AnomalyAlertSchema = z
  .object({
    schema_version: schemaVersion,
    meter_id: meterId,
    building_id: buildingId,
    site_id: siteId,
    meter_type: meterType,
    time: z.iso.datetime().describe('Start of the flagged hour, ISO-8601 UTC.'),
    value: z.number().describe('The reading, in `unit`.'),
    unit: z.enum(['kWh', 'L']),
    expected_value: expectedValue,
    anomaly_score: anomalyScore,
    threshold: z.number().min(0).max(1).describe('The threshold the score reached.'),
    confidence: scoreConfidence,
    cold_start: coldStart,
    model_version: modelVersion,
    features: anomalyFeatures,
  })
  .meta({
    title: 'AnomalyAlert v1',
    description:
      'A reading flagged as anomalous. Topic `anomalies.v1`, key = meter_id; at-least-once: consumers dedupe on (meter_id, time).',
  });
export type AnomalyAlert = z.infer<typeof AnomalyAlertSchema>;

/** Every message schema with the file its JSON Schema is generated into. */
export const MESSAGE_SCHEMAS = {
  'raw-reading.v1.json': RawReadingSchema,
  'validated-reading.v1.json': ValidatedReadingSchema,
  'weather-observation.v1.json': WeatherObservationSchema,
  'enriched-reading.v1.json': EnrichedReadingSchema,
  'scored-reading.v1.json': ScoredReadingSchema,
  'anomaly-alert.v1.json': AnomalyAlertSchema,
} as const;
