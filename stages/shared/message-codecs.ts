import {
  type EnrichedReading,
  EnrichedReadingSchema,
  type ValidatedReading,
  ValidatedReadingSchema,
} from '../../domain/messages.js';
import { jsonCodec } from '../../pipeline/index.js';

/** `readings.validated.v1`: written by validate, read by enrich_weather. Event time = the reading's hour. */
export const validatedReadingCodec = jsonCodec<ValidatedReading>(
  (v) => ValidatedReadingSchema.parse(v),
  (r) => Date.parse(r.time),
);

/** `readings.enriched.v1`: written by enrich_weather, read by the writer (and later by scoring). */
export const enrichedReadingCodec = jsonCodec<EnrichedReading>(
  (v) => EnrichedReadingSchema.parse(v),
  (r) => Date.parse(r.time),
);
