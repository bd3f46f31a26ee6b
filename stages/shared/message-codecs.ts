import { type ValidatedReading, ValidatedReadingSchema } from '../../domain/messages.js';
import { jsonCodec } from '../../pipeline/index.js';

/** `readings.validated.v1`: written by validate, read by enrich_weather. Event time = the reading's hour. */
export const validatedReadingCodec = jsonCodec<ValidatedReading>(
  (v) => ValidatedReadingSchema.parse(v),
  (r) => Date.parse(r.time),
);
