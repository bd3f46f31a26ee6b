/**
 * The two Milvus collections (docs/storage.md): `building_patterns` (one vector per meter and local
 * day) and `anomaly_signatures` (one per alert), both 384-d, HNSW (M=8, efConstruction=64), COSINE.
 * Created with their index when missing; rows are upserted under deterministic primary keys, so a
 * replay or a restart rewrites the same rows. Errors are classified here, next to the client.
 */
import {
  ConsistencyLevelEnum,
  DataType,
  ErrorCode,
  type FieldType,
  type MilvusClient,
  type RowData,
} from '@zilliz/milvus2-sdk-node';
import { EMBEDDING_DIM } from './encoder.js';

export const PATTERNS_COLLECTION = 'building_patterns';
export const SIGNATURES_COLLECTION = 'anomaly_signatures';
export const INDEX_PARAMS = { M: 8, efConstruction: 64 } as const;

const text = (name: string, max: number): FieldType => ({ name, data_type: DataType.VarChar, max_length: max });
const float = (name: string): FieldType => ({ name, data_type: DataType.Float });
const int64 = (name: string): FieldType => ({ name, data_type: DataType.Int64 });
const vector: FieldType = { name: 'embedding', data_type: DataType.FloatVector, dim: EMBEDDING_DIM };
const id = (max: number): FieldType => ({ ...text('id', max), is_primary_key: true, autoID: false });

export const PATTERN_FIELDS: FieldType[] = [
  id(400),
  vector,
  text('building_id', 200),
  text('meter_id', 220),
  text('meter_type', 32),
  text('pattern_type', 32),
  text('day', 10),
  int64('day_start_ms'),
  text('primary_use', 64),
  text('site_id', 100),
  float('confidence'),
  int64('hours'),
  float('mean_value'),
  { name: 'weather', data_type: DataType.JSON },
  text('model_version', 80),
  int64('created_at_ms'),
];

export const SIGNATURE_FIELDS: FieldType[] = [
  id(300),
  vector,
  text('building_id', 200),
  text('meter_id', 220),
  text('meter_type', 32),
  int64('time_ms'),
  float('value'),
  float('expected'),
  float('anomaly_score'),
  text('primary_use', 64),
  text('site_id', 100),
  float('confidence'),
  text('anomaly_model', 120),
  text('model_version', 80),
  int64('created_at_ms'),
];

export interface PatternRow {
  readonly id: string;
  readonly embedding: number[];
  readonly building_id: string;
  readonly meter_id: string;
  readonly meter_type: string;
  readonly pattern_type: 'daily_profile';
  readonly day: string;
  readonly day_start_ms: number;
  readonly primary_use: string;
  readonly site_id: string;
  readonly confidence: number;
  readonly hours: number;
  readonly mean_value: number;
  readonly weather: Record<string, number | null>;
  readonly model_version: string;
  readonly created_at_ms: number;
}

export interface SignatureRow {
  readonly id: string;
  readonly embedding: number[];
  readonly building_id: string;
  readonly meter_id: string;
  readonly meter_type: string;
  readonly time_ms: number;
  readonly value: number;
  readonly expected: number;
  readonly anomaly_score: number;
  readonly primary_use: string;
  readonly site_id: string;
  readonly confidence: number;
  readonly anomaly_model: string;
  readonly model_version: string;
  readonly created_at_ms: number;
}

/** Deterministic keys: the same meter and day (or alert hour) always map to the same row. */
export const patternId = (meterId: string, day: string): string => `${meterId}@${day}`;
export const signatureId = (meterId: string, timeMs: number): string => `${meterId}@${new Date(timeMs).toISOString()}`;

/** A Milvus call that returned a non-success status. */
export class MilvusCallError extends Error {
  override name = 'MilvusCallError';
  constructor(
    readonly call: string,
    readonly code: string,
    readonly reason: string,
  ) {
    super(`Milvus ${call} failed (${code}): ${reason}`);
  }
}

interface Status {
  readonly error_code?: string | number;
  readonly code?: number;
  readonly reason?: string;
}
export function checkStatus(call: string, status: Status | undefined): void {
  const code = status?.error_code;
  if (code === undefined || code === ErrorCode.SUCCESS || code === 0 || code === 'Success') return;
  throw new MilvusCallError(call, String(code), status?.reason ?? 'no reason given');
}

/**
 * `retry`: the server is away or busy (connection refused, deadline, unavailable, rate limits,
 * a collection still loading); `bad_record`: this row cannot be stored (wrong dimension, a value
 * over a field's length); `fatal`: everything else (schema mismatch, missing permissions).
 */
export type MilvusErrorClass = 'retry' | 'bad_record' | 'fatal';

const TRANSIENT =
  /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up|connect|RateLimit|rate limit|NotReady|not ready|ServiceUnavailable|timeout|loading|busy|Cancelled/i;
const BAD_RECORD =
  /dimension|dim\b|exceeds? (the )?max[ _]length|length exceeds|invalid (field )?value|NaN|Illegal|IllegalArgument|parse/i;

export function classifyMilvusError(error: unknown): MilvusErrorClass {
  const message = error instanceof Error ? `${error.name} ${error.message}` : String(error);
  const grpc = (error as { code?: unknown }).code;
  // gRPC 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 1 CANCELLED.
  if (grpc === 14 || grpc === 4 || grpc === 8 || grpc === 1) return 'retry';
  if (TRANSIENT.test(message)) return 'retry';
  if (BAD_RECORD.test(message)) return 'bad_record';
  return 'fatal';
}

async function ensureCollection(client: MilvusClient, name: string, fields: FieldType[]): Promise<boolean> {
  const exists = await client.hasCollection({ collection_name: name });
  checkStatus('hasCollection', exists.status);
  let created = false;
  if (!exists.value) {
    checkStatus(
      'createCollection',
      await client.createCollection({ collection_name: name, fields, consistency_level: 'Strong' }),
    );
    checkStatus(
      'createIndex',
      await client.createIndex({
        collection_name: name,
        field_name: 'embedding',
        index_type: 'HNSW',
        metric_type: 'COSINE',
        params: { ...INDEX_PARAMS },
      }),
    );
    created = true;
  }
  checkStatus('loadCollection', await client.loadCollectionSync({ collection_name: name }));
  return created;
}

export interface CollectionNames {
  readonly patterns: string;
  readonly signatures: string;
}

export const defaultCollections: CollectionNames = {
  patterns: PATTERNS_COLLECTION,
  signatures: SIGNATURES_COLLECTION,
};

/** Creates what is missing (collections, HNSW index) and loads both; returns the ones it created. */
export async function ensureCollections(client: MilvusClient, names: CollectionNames): Promise<string[]> {
  const created: string[] = [];
  if (await ensureCollection(client, names.patterns, PATTERN_FIELDS)) created.push(names.patterns);
  if (await ensureCollection(client, names.signatures, SIGNATURE_FIELDS)) created.push(names.signatures);
  return created;
}

export async function upsertRows(
  client: MilvusClient,
  collection: string,
  rows: readonly (PatternRow | SignatureRow)[],
): Promise<void> {
  if (rows.length === 0) return;
  const result = await client.upsert({ collection_name: collection, data: rows as unknown as RowData[] });
  checkStatus('upsert', result.status);
}

export interface SearchHit {
  readonly id: string;
  readonly score: number;
  readonly [field: string]: unknown;
}

/**
 * Reads for similarity search may miss writes of the last few seconds (Milvus "Bounded", its own
 * default): a Strong read waits until the server's periodic sync timestamp passes the request's,
 * 220–280 ms per request measured on Milvus standalone 2.3.5 (docs/storage.md). Milvus Lite
 * ignores the level. Writers and their tests keep the collections' Strong default.
 */
export const SEARCH_CONSISTENCY = ConsistencyLevelEnum.Bounded;

/** One search per query vector, in one call; hits per query, best first. */
export async function searchVectors(
  client: MilvusClient,
  collection: string,
  vectors: readonly number[][],
  options: { limit: number; ef: number; filter?: string; outputFields: readonly string[] },
): Promise<SearchHit[][]> {
  if (vectors.length === 0) return [];
  const result = await client.search({
    collection_name: collection,
    data: vectors as number[][],
    anns_field: 'embedding',
    limit: options.limit,
    ...(options.filter ? { filter: options.filter } : {}),
    output_fields: ['id', ...options.outputFields],
    params: { ef: Math.max(options.ef, options.limit) },
    consistency_level: SEARCH_CONSISTENCY,
  });
  checkStatus('search', result.status);
  const results = result.results as unknown;
  const perQuery = vectors.length === 1 && !Array.isArray((results as unknown[])[0]) ? [results] : results;
  return (perQuery as SearchHit[][]).map((hits) => hits.map((h) => ({ ...h, id: String(h.id) })));
}

/** A string literal for a Milvus boolean expression. */
export const milvusString = (value: string): string => JSON.stringify(value);
