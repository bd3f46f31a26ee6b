/**
 * Logical topic names. The version suffix is the payload schema's major version: a breaking
 * change to a message gets a new topic (`.v2`) that runs alongside the old one until consumers
 * move. The physical name adds the environment prefix (`EAIO_TOPIC_PREFIX`) so that several
 * pipelines (or test runs) can share one broker; `physicalTopic` in pipeline/topics.ts applies it.
 */
export const TOPICS = {
  /** Meter readings as produced (replay, gateways): unit as measured, not yet checked. Key: meter id. */
  readingsRaw: 'readings.raw.v1',
  /** Weather observations per site. Key: site id. */
  weatherRaw: 'weather.raw.v1',
  /** Readings that passed validation, in the meter type's canonical unit. Key: meter id. */
  readingsValidated: 'readings.validated.v1',
  /** Validated readings joined with the site's weather for that hour. Key: meter id. */
  readingsEnriched: 'readings.enriched.v1',
  /** Enriched readings with an anomaly score. Key: meter id. */
  readingsScored: 'readings.scored.v1',
  /** Anomaly alerts (score_anomaly): meter, hour, value, expected, score, model version. Key: meter id. */
  anomalies: 'anomalies.v1',
} as const;

export type LogicalTopic = (typeof TOPICS)[keyof typeof TOPICS];
