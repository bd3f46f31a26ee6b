import {
  type AnomalyAlert,
  AnomalyAlertSchema,
  type EnrichedReading,
  EnrichedReadingSchema,
  type ScoredReading,
  ScoredReadingSchema,
  type ValidatedReading,
  ValidatedReadingSchema,
} from '../../domain/messages.js';
import { jsonCodec } from '../../pipeline/index.js';

/** `readings.validated.v1`: written by validate, read by enrich_weather. Event time = the reading's hour. */
export const validatedReadingCodec = jsonCodec<ValidatedReading>(
  (v) => ValidatedReadingSchema.parse(v),
  (r) => Date.parse(r.time),
);

/** `readings.enriched.v1`: written by enrich_weather, read by score_anomaly. */
export const enrichedReadingCodec = jsonCodec<EnrichedReading>(
  (v) => EnrichedReadingSchema.parse(v),
  (r) => Date.parse(r.time),
);

/** `readings.scored.v1`: written by score_anomaly, read by the writer. */
export const scoredReadingCodec = jsonCodec<ScoredReading>(
  (v) => ScoredReadingSchema.parse(v),
  (r) => Date.parse(r.time),
);

/** `anomalies.v1`: score_anomaly's alerts (the API's live feed). */
export const anomalyAlertCodec = jsonCodec<AnomalyAlert>(
  (v) => AnomalyAlertSchema.parse(v),
  (a) => Date.parse(a.time),
);
