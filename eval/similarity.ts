/**
 * `eaio eval similarity`: does `findSimilarBuildings` find buildings of the same use? Over every
 * building of one meter type in a patterns collection: the share of its top-k neighbours with its
 * BDG2 primary use, the chance rate of the same population, their ratio, and the latency of the
 * searches at the collection's size. Optionally loads a BDG2 directory first (same day assembly
 * and encoder as the stage) into a collection of its own.
 */
import type { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { type DayToEmbed, embedDays, patternRow } from '../stages/embed_profiles/embed.js';
import type { ProfileEncoder } from '../stages/embed_profiles/encoder.js';
import { checkStatus, ensureCollections, milvusString, upsertRows } from '../stages/embed_profiles/milvus-store.js';
import { labelAgreement } from '../stages/embed_profiles/ranking.js';
import { findSimilarBuildings } from '../stages/embed_profiles/search.js';
import { readSliceDays } from './profile-days.js';

export interface LoadOptions {
  readonly dir: string;
  readonly collection: string;
  readonly maxMissingHours: number;
  readonly log?: (line: string) => void;
}

/** Embeds every complete-enough day of a BDG2 directory into `collection` (created when missing). */
export async function loadSlice(client: MilvusClient, encoder: ProfileEncoder, options: LoadOptions): Promise<number> {
  await ensureCollections(client, { patterns: options.collection, signatures: `${options.collection}_signatures` });
  const meters = await readSliceDays({ dir: options.dir, ...(options.log ? { log: options.log } : {}) });
  const days: DayToEmbed[] = [];
  for (const m of meters)
    for (const acc of m.days.values())
      if (acc.missingHours <= options.maxMissingHours)
        days.push({
          info: {
            meterId: m.meterId,
            buildingId: m.buildingId,
            siteId: m.siteId,
            meterType: m.meterType,
            zone: m.zone,
            primaryUse: m.primaryUse,
            floorAreaSqm: m.floorAreaSqm,
          },
          acc,
        });
  const created = Date.now();
  for (let i = 0; i < days.length; i += 500) {
    const chunk = days.slice(i, i + 500);
    const vectors = await embedDays(encoder, chunk);
    await upsertRows(
      client,
      options.collection,
      chunk.map((d, j) => patternRow(d, vectors[j] as number[], encoder.version, created)),
    );
    options.log?.(`loaded ${Math.min(i + 500, days.length)}/${days.length} days`);
  }
  return days.length;
}

export interface SimilarityEval {
  readonly collection: string;
  readonly meter: string;
  readonly vectors: number;
  readonly buildings: number;
  readonly k: number;
  readonly precision: number;
  readonly chance: number;
  readonly ratioToChance: number;
  readonly latencyMeanMs: number;
  readonly latencyP95Ms: number;
  readonly perBuilding: { buildingId: string; primaryUse: string | null; sameUse: number; neighbours: string[] }[];
}

export async function evaluateSimilarity(
  client: MilvusClient,
  options: { collection: string; meter: string; k: number; ef: number; days: number; log?: (line: string) => void },
): Promise<SimilarityEval> {
  const rows = await client.query({
    collection_name: options.collection,
    filter: `meter_type == ${milvusString(options.meter)}`,
    output_fields: ['building_id', 'primary_use'],
    limit: 16_384,
  });
  checkStatus('query', rows.status);
  const labels = new Map<string, string | null>();
  for (const r of rows.data as { building_id: string; primary_use: string }[])
    labels.set(r.building_id, r.primary_use || null);
  const count = await client.count({ collection_name: options.collection });
  const neighbours = new Map<string, string[]>();
  const latencies: number[] = [];
  const perBuilding: SimilarityEval['perBuilding'] = [];
  for (const building of [...labels.keys()].sort()) {
    const started = performance.now();
    const result = await findSimilarBuildings(client, building, {
      limit: options.k,
      meter: options.meter,
      days: options.days,
      ef: options.ef,
      collections: { patterns: options.collection, signatures: '' },
    });
    latencies.push(performance.now() - started);
    const found = result.similar.map((s) => s.buildingId);
    neighbours.set(building, found);
    const label = labels.get(building) ?? null;
    perBuilding.push({
      buildingId: building,
      primaryUse: label,
      sameUse: found.filter((b) => labels.get(b) === label).length,
      neighbours: found,
    });
    options.log?.(`${perBuilding.length}/${labels.size} ${building}`);
  }
  const agreement = labelAgreement(labels, neighbours);
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = latencies.reduce((s, x) => s + x, 0) / Math.max(1, latencies.length);
  return {
    collection: options.collection,
    meter: options.meter,
    vectors: Number(count.data),
    buildings: agreement.buildings,
    k: options.k,
    precision: agreement.precision,
    chance: agreement.chance,
    ratioToChance: agreement.ratio,
    latencyMeanMs: mean,
    latencyP95Ms: sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] ?? 0,
    perBuilding,
  };
}

export function formatSimilarityEval(r: SimilarityEval): string {
  const lines = r.perBuilding.map(
    (b) =>
      `  ${b.buildingId.padEnd(32)} ${String(b.primaryUse ?? '-').padEnd(30)} same use ${b.sameUse}/${b.neighbours.length}`,
  );
  lines.push(
    `eval similarity: collection=${r.collection} meter=${r.meter} vectors=${r.vectors} buildings=${r.buildings} k=${r.k} precision_at_k=${r.precision.toFixed(3)} chance=${r.chance.toFixed(3)} ratio_to_chance=${r.ratioToChance.toFixed(2)} search_ms_mean=${r.latencyMeanMs.toFixed(1)} search_ms_p95=${r.latencyP95Ms.toFixed(1)}`,
  );
  return lines.join('\n');
}
