/**
 * The Milvus side of `eaio migrate`: the embed_profiles collections (building_patterns,
 * anomaly_signatures) and their HNSW indexes, created when missing (docs/storage.md, "Milvus").
 */
import { parseEnvSection } from '../config/load.js';
import { errorMessage } from '../pipeline/index.js';
import { embedProfilesSettings, toEmbedProfilesConfig } from '../stages/embed_profiles/config.js';
import { ensureCollections } from '../stages/embed_profiles/milvus-store.js';
import { connectMilvus } from '../stages/shared/milvus-client.js';

export type MilvusMigration =
  | { readonly kind: 'done'; readonly created: readonly string[]; readonly existing: readonly string[] }
  | { readonly kind: 'unreachable'; readonly reason: string };

export async function migrateMilvus(
  address: string,
  source: NodeJS.ProcessEnv = process.env,
): Promise<MilvusMigration> {
  const { collections } = toEmbedProfilesConfig(parseEnvSection(embedProfilesSettings, source));
  let client: Awaited<ReturnType<typeof connectMilvus>>;
  try {
    client = await connectMilvus(address, { timeoutMs: 10_000 });
  } catch (error) {
    return { kind: 'unreachable', reason: errorMessage(error) };
  }
  try {
    const created = await ensureCollections(client, collections);
    const existing = [collections.patterns, collections.signatures].filter((c) => !created.includes(c));
    return { kind: 'done', created, existing };
  } finally {
    await client.closeConnection().catch(() => undefined);
  }
}
