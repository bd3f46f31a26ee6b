/**
 * The writers' explicit flush on the local Milvus (Milvus Lite): the server is recognised, and a
 * flush changes where rows live, not what a search finds (a throw-away collection, dropped).
 */
import { randomUUID } from 'node:crypto';
import type { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../../config/load.js';
import { describeServer, flushCollection, flushPolicyFor } from '../../../stages/embed_profiles/flush.js';
import {
  ensureCollections,
  type PatternRow,
  searchVectors,
  upsertRows,
} from '../../../stages/embed_profiles/milvus-store.js';
import { connectMilvus } from '../../../stages/shared/milvus-client.js';

const env = loadEnv();
let milvus: MilvusClient;
const base = `t_flush_${randomUUID().slice(0, 8)}`;
const names = { patterns: `${base}_p`, signatures: `${base}_s` };

function unit(seed: number): number[] {
  let a = seed;
  const v = Array.from({ length: 384 }, () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648 - 0.5;
  });
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

const row = (i: number): PatternRow => ({
  id: `m${i}:electricity@2017-01-01`,
  embedding: unit(i + 1),
  building_id: `b${i % 20}`,
  meter_id: `m${i}:electricity`,
  meter_type: 'electricity',
  pattern_type: 'daily_profile',
  day: '2017-01-01',
  day_start_ms: 1_483_246_800_000,
  primary_use: 'office',
  site_id: 's',
  confidence: 1,
  hours: 24,
  mean_value: i,
  weather: { temp_mean: null },
  model_version: 'test',
  created_at_ms: 0,
});

beforeAll(async () => {
  milvus = await connectMilvus(env.MILVUS_ADDRESS);
  await ensureCollections(milvus, names);
});

afterAll(async () => {
  for (const c of [names.patterns, names.signatures])
    await milvus?.dropCollection({ collection_name: c }).catch(() => undefined);
  await milvus?.closeConnection();
});

describe('explicit flush on the local Milvus', () => {
  it('recognises Milvus Lite, whose writers flush every 2,000 rows', async () => {
    const server = await describeServer(milvus);
    expect(server.kind).toBe('milvus-lite');
    expect(server.version).toMatch(/^milvus_lite-\d+\.\d+/);
    expect(flushPolicyFor(milvus, server).everyRows).toBe(2_000);
    expect(flushPolicyFor(milvus, { kind: 'milvus', version: 'v2.6.11' }).everyRows).toBe(0);
  });

  it('a flush keeps every row and the same search results (ids, order, scores, fields)', async () => {
    await upsertRows(
      milvus,
      names.patterns,
      Array.from({ length: 300 }, (_, i) => row(i)),
    );
    const queries = [unit(7_001), unit(7_002), unit(7_003)];
    // ef covers every row: the answer is exact with and without the HNSW index.
    const search = () =>
      searchVectors(milvus, names.patterns, queries, {
        limit: 20,
        ef: 300,
        filter: 'building_id != "b3" && meter_type == "electricity"',
        outputFields: ['building_id', 'mean_value'],
      });
    const before = await search();
    await flushCollection(milvus, names.patterns);
    const after = await search();
    expect(Number((await milvus.count({ collection_name: names.patterns })).data)).toBe(300);
    expect(after.map((q) => q.map((h) => h.id))).toEqual(before.map((q) => q.map((h) => h.id)));
    expect(after.map((q) => q.map((h) => h.building_id))).toEqual(before.map((q) => q.map((h) => h.building_id)));
    for (const [q, hits] of after.entries())
      for (const [i, h] of hits.entries()) expect(h.score).toBeCloseTo(before[q]?.[i]?.score ?? Number.NaN, 5);
    expect(before[0]).toHaveLength(20);
    expect(before.flat().some((h) => h.building_id === 'b3')).toBe(false);
  });
});
