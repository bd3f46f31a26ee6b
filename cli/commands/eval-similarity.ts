import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEnv } from '../../config/load.js';
import { UsageError } from '../command.js';

const DEFAULT_BDG2 = fileURLToPath(new URL('../../../shared/data/bdg2', import.meta.url));

export const evalSimilarityUsage = `Usage: eaio eval similarity [--bdg2 DIR | --collection NAME] [--meter TYPE] [--k N] [--days N] [--keep] [--json]

Over every building with <meter> vectors in a patterns collection: the share of its top-k similar
buildings (findSimilarBuildings, as \`eaio similar\`) that share its BDG2 primary use, the chance
rate of the same population and their ratio; plus the latency of those searches (mean, p95) at
the collection's size. Ends with one line: eval similarity: … ratio_to_chance=… search_ms_mean=…

  --bdg2 DIR         embed every day of DIR's meters (same day assembly and encoder as the stage)
                     into a throw-away collection first (default ${DEFAULT_BDG2})
  --collection NAME  evaluate this existing collection instead (e.g. building_patterns)
  --meter TYPE       meter type (default electricity)
  --k N              neighbours per building (default 10)
  --days N           most recent days per building used as queries (default 14)
  --keep             keep the throw-away collection (its name is printed)
  --json             print one JSON object`;

export async function runEvalSimilarity(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      bdg2: { type: 'string' },
      collection: { type: 'string' },
      meter: { type: 'string', default: 'electricity' },
      k: { type: 'string', default: '10' },
      days: { type: 'string', default: '14' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument(s): ${positionals.join(' ')}`);
  if (values.bdg2 && values.collection) throw new UsageError('pass --bdg2 or --collection, not both');
  const k = Number(values.k);
  const days = Number(values.days);
  if (!Number.isInteger(k) || k < 1 || k > 100) throw new UsageError(`--k must be an integer 1–100, not "${values.k}"`);
  if (!Number.isInteger(days) || days < 1)
    throw new UsageError(`--days must be a positive integer, not "${values.days}"`);
  const dir = values.collection ? undefined : (values.bdg2 ?? DEFAULT_BDG2);
  if (dir && !existsSync(`${dir}/metadata.csv`)) {
    console.error(
      `eval similarity: ${dir}/metadata.csv does not exist; pass --bdg2 DIR (a BDG2 directory) or --collection NAME`,
    );
    return 1;
  }
  const env = loadEnv();
  const { connectMilvus } = await import('../../stages/shared/milvus-client.js');
  const { evaluateSimilarity, formatSimilarityEval, loadSlice } = await import('../../eval/similarity.js');
  const { embedProfilesSettings, toEmbedProfilesConfig } = await import('../../stages/embed_profiles/config.js');
  const { parseEnvSection } = await import('../../config/load.js');
  const config = toEmbedProfilesConfig(parseEnvSection(embedProfilesSettings, process.env));
  const log = (line: string) => console.error(`eval similarity: ${line}`);
  const client = await connectMilvus(env.MILVUS_ADDRESS, { timeoutMs: 60_000 });
  const collection = values.collection ?? `eval_patterns_${Date.now()}_${process.pid}`;
  try {
    if (dir) {
      const { loadProfileEncoder } = await import('../../stages/embed_profiles/encoder.js');
      const encoder = await loadProfileEncoder(config.modelPath);
      try {
        const n = await loadSlice(client, encoder, { dir, collection, maxMissingHours: config.maxMissingHours, log });
        log(`${n} days of ${dir} embedded into ${collection} with ${encoder.version}`);
        // As the stage leaves its collection (stages/embed_profiles/flush.ts): flushed on Milvus Lite.
        const { describeServer, flushPolicyFor } = await import('../../stages/embed_profiles/flush.js');
        const flushes = flushPolicyFor(client, await describeServer(client));
        await flushes.wrote(collection, n);
        await flushes.flushAll();
      } finally {
        await encoder.release();
      }
    }
    const result = await evaluateSimilarity(client, {
      collection,
      meter: values.meter,
      k,
      ef: config.searchEf,
      days,
      log,
    });
    console.log(values.json ? JSON.stringify(result) : formatSimilarityEval(result));
    return 0;
  } finally {
    if (dir && !values.keep) {
      await client.dropCollection({ collection_name: collection }).catch(() => undefined);
      await client.dropCollection({ collection_name: `${collection}_signatures` }).catch(() => undefined);
    } else if (dir) log(`kept ${collection} and ${collection}_signatures`);
    await client.closeConnection().catch(() => undefined);
  }
}
