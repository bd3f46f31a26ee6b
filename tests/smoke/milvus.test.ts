import { DataType, ErrorCode, type MilvusClient } from '@zilliz/milvus2-sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../config/load.js';
import { connectMilvus } from '../../stages/shared/milvus-client.js';

const DIM = 384;
const collection = `smoke_${Date.now()}_${process.pid}`;

/** Deterministic unit-ish vectors: a cosine search for vec(k) must return id k first. */
function vec(seed: number): number[] {
  const v = Array.from({ length: DIM }, (_, i) => Math.sin((i + 1) * (seed + 1) * 0.37) + (i === seed ? 3 : 0));
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

describe('Milvus (local stack)', () => {
  let client: MilvusClient;

  beforeAll(async () => {
    client = await connectMilvus(loadEnv().MILVUS_ADDRESS);
  });

  afterAll(async () => {
    if (!client) return;
    await client.dropCollection({ collection_name: collection }).catch(() => undefined);
    await client.closeConnection();
  });

  it('creates, indexes (HNSW/COSINE), loads, inserts, upserts, searches, queries and deletes', async () => {
    const created = await client.createCollection({
      collection_name: collection,
      // Strong: the search right after insert/upsert must see them without a manual flush.
      consistency_level: 'Strong',
      fields: [
        { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
        { name: 'embedding', data_type: DataType.FloatVector, dim: DIM },
        { name: 'label', data_type: DataType.VarChar, max_length: 64 },
      ],
    });
    expect(created.error_code).toBe(ErrorCode.SUCCESS);

    const indexed = await client.createIndex({
      collection_name: collection,
      field_name: 'embedding',
      index_type: 'HNSW',
      metric_type: 'COSINE',
      params: { M: 8, efConstruction: 64 },
    });
    expect(indexed.error_code).toBe(ErrorCode.SUCCESS);

    const loaded = await client.loadCollectionSync({ collection_name: collection });
    expect(loaded.error_code).toBe(ErrorCode.SUCCESS);

    const rows = Array.from({ length: 20 }, (_, i) => ({ id: i, embedding: vec(i), label: `row-${i}` }));
    const inserted = await client.insert({ collection_name: collection, data: rows });
    expect(inserted.status.error_code).toBe(ErrorCode.SUCCESS);
    expect(Number(inserted.insert_cnt)).toBe(20);

    const upserted = await client.upsert({
      collection_name: collection,
      data: [{ id: 3, embedding: vec(3), label: 'row-3-updated' }],
    });
    expect(upserted.status.error_code).toBe(ErrorCode.SUCCESS);

    const found = await client.search({
      collection_name: collection,
      data: vec(7),
      anns_field: 'embedding',
      limit: 3,
      output_fields: ['id', 'label'],
      params: { ef: 32 },
    });
    expect(found.status.error_code).toBe(ErrorCode.SUCCESS);
    const top = found.results[0] as { id: string | number; score: number; label: string } | undefined;
    expect(String(top?.id)).toBe('7');
    expect(top?.label).toBe('row-7');
    expect(top?.score).toBeGreaterThan(0.99);

    const queried = await client.query({
      collection_name: collection,
      filter: 'id in [3, 4]',
      output_fields: ['id', 'label'],
    });
    expect(queried.status.error_code).toBe(ErrorCode.SUCCESS);
    const labels = Object.fromEntries(queried.data.map((r) => [String(r.id), r.label]));
    expect(labels).toEqual({ '3': 'row-3-updated', '4': 'row-4' });

    const deleted = await client.delete({ collection_name: collection, filter: 'id in [0, 1, 2]' });
    expect(deleted.status.error_code).toBe(ErrorCode.SUCCESS);
    const count = await client.count({ collection_name: collection });
    expect(count.data).toBe(17);

    const dropped = await client.dropCollection({ collection_name: collection });
    expect(dropped.error_code).toBe(ErrorCode.SUCCESS);
    const exists = await client.hasCollection({ collection_name: collection });
    expect(exists.value).toBe(false);
  });
});
