/**
 * When the writers flush a collection, and why only on Milvus Lite.
 *
 * Milvus Lite 3.x keeps written rows in a memtable until it holds 128 MB (about 70,000 of our
 * rows) and answers every search and query by first copying each memtable row's vector into a
 * Python list (`storage/memtable.py`, `to_search_snapshot`): about 45 µs per unflushed row per
 * request on our machines, before any distance is computed. Only flushed segments are searched
 * through its FAISS HNSW index. A `flush` turns the memtable into a segment (its index is built in
 * the background). So on Milvus Lite the writers flush a collection every `everyRows` rows they
 * upsert into it, which keeps that per-request cost bounded (docs/storage.md).
 *
 * Milvus standalone seals and indexes segments by itself, searches growing segments natively and
 * rate-limits flush calls: nothing is flushed explicitly there.
 */
import type { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { checkStatus } from './milvus-store.js';

export interface MilvusServer {
  readonly kind: 'milvus-lite' | 'milvus';
  /** As the server reports it (`milvus_lite-3.2.2`, `v2.6.11`), or `unknown`. */
  readonly version: string;
}

/**
 * Milvus Lite 3.x reports its version as `milvus_lite-<version>`; Milvus standalone as `v2.x.y`
 * (the embedded standalone from PyPI `milvus` 2.3 as `v2.3.5-lite`: the real server, not Lite).
 */
export function serverKind(version: string): MilvusServer['kind'] {
  return /^milvus_lite-/i.test(version) ? 'milvus-lite' : 'milvus';
}

export async function describeServer(client: MilvusClient): Promise<MilvusServer> {
  try {
    const answer = await client.getVersion();
    const version = answer.version || 'unknown';
    return { kind: serverKind(version), version };
  } catch {
    return { kind: 'milvus', version: 'unknown' };
  }
}

/** Rows per explicit flush on Milvus Lite: at most ~90 ms of memtable copying per request. */
export const LITE_FLUSH_ROWS = 2_000;

export async function flushCollection(client: MilvusClient, collection: string): Promise<void> {
  const result = await client.flush({ collection_names: [collection] });
  checkStatus('flush', result.status);
}

/**
 * Counts the rows upserted per collection since its last explicit flush and flushes a collection
 * once they reach `everyRows` (0: never; the server flushes on its own). `flushAll` flushes
 * whatever is pending (at shutdown).
 */
export class FlushPolicy {
  private readonly pending = new Map<string, number>();
  constructor(
    private readonly flush: (collection: string) => Promise<void>,
    readonly everyRows: number,
  ) {}

  unflushed(collection: string): number {
    return this.pending.get(collection) ?? 0;
  }

  /** Records `rows` upserted into `collection`; returns true when this call flushed it. */
  async wrote(collection: string, rows: number): Promise<boolean> {
    if (rows <= 0) return false;
    const pending = this.unflushed(collection) + rows;
    this.pending.set(collection, pending);
    if (this.everyRows <= 0 || pending < this.everyRows) return false;
    await this.flush(collection);
    this.pending.delete(collection);
    return true;
  }

  async flushAll(): Promise<void> {
    if (this.everyRows <= 0) return;
    for (const collection of [...this.pending.keys()]) {
      await this.flush(collection);
      this.pending.delete(collection);
    }
  }
}

/** The writers' policy for this server: every LITE_FLUSH_ROWS rows on Milvus Lite, never otherwise. */
export const flushPolicyFor = (client: MilvusClient, server: MilvusServer, everyRows = LITE_FLUSH_ROWS) =>
  new FlushPolicy((c) => flushCollection(client, c), server.kind === 'milvus-lite' ? everyRows : 0);
