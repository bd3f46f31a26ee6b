/**
 * Similarity search over the two collections: "which buildings behave like mine?" and "have we
 * seen an anomaly like this before?". A building is represented by its recent days (each a query);
 * see ranking.ts for how day hits become building scores.
 */
import type { MilvusClient } from '@zilliz/milvus2-sdk-node';
import {
  type CollectionNames,
  checkStatus,
  defaultCollections,
  milvusString,
  SEARCH_CONSISTENCY,
  type SearchHit,
  searchVectors,
} from './milvus-store.js';
import { rankBuildings } from './ranking.js';

export interface SimilarBuildingsOptions {
  readonly limit?: number;
  /** Meter type compared (default: the building's meter type with the most days). */
  readonly meter?: string;
  /** Local dates `YYYY-MM-DD`, inclusive, of the building's days that represent it. */
  readonly from?: string;
  readonly to?: string;
  /** Most recent days used as queries (default 14). */
  readonly days?: number;
  readonly ef?: number;
  readonly collections?: CollectionNames;
}

export interface SimilarBuilding {
  readonly buildingId: string;
  /** Mean over the asking building's days of the best cosine similarity to this building's days. */
  readonly similarity: number;
  readonly primaryUse: string | null;
  readonly siteId: string | null;
  readonly matchedDays: number;
}

export interface SimilarBuildingsResult {
  readonly buildingId: string;
  readonly meter: string;
  readonly queryDays: number;
  readonly similar: SimilarBuilding[];
}

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export const DEFAULT_QUERY_DAYS = 14;
/** Day hits fetched per query day: enough to reach a building's best day past closer buildings' days. */
export const HITS_PER_QUERY = 200;

const validDate = (d: string | undefined, what: string): string | undefined => {
  if (d !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(d))
    throw new RangeError(`${what} must be a date YYYY-MM-DD, not "${d}"`);
  return d;
};

export async function findSimilarBuildings(
  client: MilvusClient,
  buildingId: string,
  options: SimilarBuildingsOptions = {},
): Promise<SimilarBuildingsResult> {
  const collection = (options.collections ?? defaultCollections).patterns;
  const limit = options.limit ?? 10;
  const from = validDate(options.from, 'from');
  const to = validDate(options.to, 'to');
  const conditions = [`building_id == ${milvusString(buildingId)}`];
  if (options.meter) conditions.push(`meter_type == ${milvusString(options.meter)}`);
  const mine = await client.query({
    collection_name: collection,
    filter: conditions.join(' && '),
    output_fields: ['day', 'meter_type', 'embedding'],
    limit: 16_384,
    consistency_level: SEARCH_CONSISTENCY,
  });
  checkStatus('query', mine.status);
  let rows = mine.data as { day: string; meter_type: string; embedding: number[] }[];
  if (rows.length === 0)
    throw new NotFoundError(
      `building ${buildingId} has no day vectors in ${collection}${options.meter ? ` for meter ${options.meter}` : ''}`,
    );
  const meter = options.meter ?? mostCommon(rows.map((r) => r.meter_type));
  rows = rows
    .filter((r) => r.meter_type === meter && (!from || r.day >= from) && (!to || r.day <= to))
    .sort((a, b) => b.day.localeCompare(a.day))
    .slice(0, options.days ?? DEFAULT_QUERY_DAYS);
  if (rows.length === 0)
    throw new NotFoundError(`building ${buildingId} has no ${meter} days between ${from ?? '…'} and ${to ?? '…'}`);
  const hits = await searchOtherBuildingsDays(
    client,
    collection,
    rows.map((r) => r.embedding),
    { buildingId, meter, ef: options.ef ?? 64 },
  );
  const about = new Map<string, { primaryUse: string | null; siteId: string | null }>();
  for (const h of hits.flat())
    about.set(String(h.building_id), {
      primaryUse: (h.primary_use as string) || null,
      siteId: (h.site_id as string) || null,
    });
  const ranked = rankBuildings(
    hits.map((q) => q.map((h) => ({ buildingId: String(h.building_id), score: h.score }))),
    limit,
  );
  return {
    buildingId,
    meter,
    queryDays: rows.length,
    similar: ranked.map((r) => ({
      buildingId: r.buildingId,
      similarity: r.score,
      primaryUse: about.get(r.buildingId)?.primaryUse ?? null,
      siteId: about.get(r.buildingId)?.siteId ?? null,
      matchedDays: r.matchedDays,
    })),
  };
}

/** The days of other buildings (same meter type) nearest to each query day, one request for all. */
export function searchOtherBuildingsDays(
  client: MilvusClient,
  collection: string,
  queryDays: readonly number[][],
  options: { buildingId: string; meter: string; ef: number },
): Promise<SearchHit[][]> {
  return searchVectors(client, collection, queryDays, {
    limit: HITS_PER_QUERY,
    ef: Math.max(options.ef, 2 * HITS_PER_QUERY),
    filter: `building_id != ${milvusString(options.buildingId)} && meter_type == ${milvusString(options.meter)}`,
    outputFields: ['building_id', 'primary_use', 'site_id'],
  });
}

function mostCommon(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? '';
}

export interface SimilarAnomaly {
  readonly id: string;
  readonly similarity: number;
  readonly buildingId: string;
  readonly meterId: string;
  readonly time: string;
  readonly value: number;
  readonly expected: number;
  readonly score: number;
}

/** Past anomalies most like one already stored (by id) or like a window's embedding. */
export async function findSimilarAnomalies(
  client: MilvusClient,
  query: { readonly id: string } | { readonly embedding: readonly number[] },
  options: { limit?: number; ef?: number; collections?: CollectionNames } = {},
): Promise<SimilarAnomaly[]> {
  const collection = (options.collections ?? defaultCollections).signatures;
  let embedding: number[];
  let exclude: string | undefined;
  if ('id' in query) {
    const found = await client.query({
      collection_name: collection,
      filter: `id == ${milvusString(query.id)}`,
      output_fields: ['embedding'],
      consistency_level: SEARCH_CONSISTENCY,
    });
    checkStatus('query', found.status);
    const row = found.data[0] as { embedding?: number[] } | undefined;
    if (!row?.embedding) throw new NotFoundError(`anomaly ${query.id} is not in ${collection}`);
    embedding = row.embedding;
    exclude = query.id;
  } else embedding = [...query.embedding];
  const limit = options.limit ?? 10;
  const [hits = []] = await searchVectors(client, collection, [embedding], {
    limit,
    ef: options.ef ?? 64,
    ...(exclude ? { filter: `id != ${milvusString(exclude)}` } : {}),
    outputFields: ['building_id', 'meter_id', 'time_ms', 'value', 'expected', 'anomaly_score'],
  });
  return hits.map((h) => ({
    id: h.id,
    similarity: h.score,
    buildingId: String(h.building_id),
    meterId: String(h.meter_id),
    time: new Date(Number(h.time_ms)).toISOString(),
    value: Number(h.value),
    expected: Number(h.expected),
    score: Number(h.anomaly_score),
  }));
}
