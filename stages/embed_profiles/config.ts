import { z } from 'zod';
import { TOPICS } from '../../domain/topics.js';
import { DEFAULT_PROFILE_MODEL, resolveProfileModel } from './encoder.js';
import { PATTERNS_COLLECTION, SIGNATURES_COLLECTION } from './milvus-store.js';

const hours = (fallback: number, max: number, description: string) =>
  z.coerce.number().min(0).max(max).default(fallback).describe(description);
const collection = (fallback: string, what: string) =>
  z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/, 'a Milvus collection name (letters, digits, underscores)')
    .default(fallback)
    .describe(`Milvus collection of ${what}.`);

export const embedProfilesSettings = z.object({
  EAIO_EMBED_PROFILES_MODEL: z
    .string()
    .min(1)
    .default(DEFAULT_PROFILE_MODEL)
    .describe(
      'The profile encoder, an ONNX file (models/profile/MODEL_CARD.md). A relative path is looked up in the current directory, then in the EAIO installation.',
    ),
  EAIO_EMBED_PROFILES_GRACE_H: hours(
    2,
    168,
    'Hours after a local day ends (on event time) before its vector is written; later readings upsert it.',
  ),
  EAIO_EMBED_PROFILES_ALLOWED_LATENESS_H: hours(
    1,
    168,
    'The watermark trails the largest event time of a partition by this many hours (spread of meters within a partition).',
  ),
  EAIO_EMBED_PROFILES_RETENTION_H: hours(
    48,
    24 * 31,
    'Hours a closed day stays in memory for late readings to update it; readings older than that are skipped (late_reading).',
  ),
  EAIO_EMBED_PROFILES_MAX_MISSING_HOURS: z.coerce
    .number()
    .int()
    .min(0)
    .max(23)
    .default(4)
    .describe('A day missing more hours than this gets no vector (counted in eaio_embed_days_skipped_total).'),
  EAIO_EMBED_PROFILES_PATTERNS_COLLECTION: collection(PATTERNS_COLLECTION, 'daily load profiles'),
  EAIO_EMBED_PROFILES_SIGNATURES_COLLECTION: collection(SIGNATURES_COLLECTION, 'anomaly signatures'),
  EAIO_EMBED_PROFILES_SEARCH_EF: z.coerce
    .number()
    .int()
    .min(1)
    .max(32_768)
    .default(64)
    .describe('HNSW ef of similarity searches (`eaio similar`, the API): higher finds more, slower.'),
  EAIO_EMBED_PROFILES_INPUT_TOPIC: z
    .string()
    .regex(/^[a-zA-Z0-9._-]+$/, 'a logical topic name, e.g. readings.scored.v1')
    .default(TOPICS.readingsScored)
    .describe('Logical topic of the readings whose days are embedded.'),
  EAIO_EMBED_PROFILES_BATCH_RECORDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(2_000)
    .describe('Most records per process call of embed_profiles.'),
});

export interface EmbedProfilesConfig {
  readonly modelPath: string;
  readonly graceMs: number;
  readonly allowedLatenessMs: number;
  readonly retentionMs: number;
  readonly maxMissingHours: number;
  readonly collections: { readonly patterns: string; readonly signatures: string };
  readonly searchEf: number;
  readonly inputTopic: string;
  readonly alertsTopic: string;
  readonly maxRecords: number;
}

const H = 3_600_000;
export const toEmbedProfilesConfig = (v: z.infer<typeof embedProfilesSettings>): EmbedProfilesConfig => ({
  modelPath: resolveProfileModel(v.EAIO_EMBED_PROFILES_MODEL),
  graceMs: v.EAIO_EMBED_PROFILES_GRACE_H * H,
  allowedLatenessMs: v.EAIO_EMBED_PROFILES_ALLOWED_LATENESS_H * H,
  retentionMs: v.EAIO_EMBED_PROFILES_RETENTION_H * H,
  maxMissingHours: v.EAIO_EMBED_PROFILES_MAX_MISSING_HOURS,
  collections: {
    patterns: v.EAIO_EMBED_PROFILES_PATTERNS_COLLECTION,
    signatures: v.EAIO_EMBED_PROFILES_SIGNATURES_COLLECTION,
  },
  searchEf: v.EAIO_EMBED_PROFILES_SEARCH_EF,
  inputTopic: v.EAIO_EMBED_PROFILES_INPUT_TOPIC,
  alertsTopic: TOPICS.anomalies,
  maxRecords: v.EAIO_EMBED_PROFILES_BATCH_RECORDS,
});

/** The defaults, for tools that search without a worker's environment. */
export const defaultEmbedProfilesConfig = (): EmbedProfilesConfig =>
  toEmbedProfilesConfig(embedProfilesSettings.parse({}));
