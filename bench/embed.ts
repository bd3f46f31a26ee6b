/**
 * `eaio bench embed`: the embedding side of embed_profiles on the local Milvus. Days are made from
 * the BDG2 slice's real days (each template day scaled, noised and shifted per synthetic meter,
 * deterministic), then
 *  - days embedded per second: features + the ONNX encoder, in the stage's batches;
 *  - Milvus upsert latency per batch of rows (mean, p95) while the collection fills up to --vectors;
 *  - top-10 search latency (mean, p95) of single-vector searches at that size (ef from the settings).
 * Runs on a throw-away collection (dropped unless --keep).
 */
import { parseArgs } from 'node:util';
import { loadEnv, parseEnvSection } from '../config/load.js';
import { readSliceDays } from '../eval/profile-days.js';
import { embedProfilesSettings, toEmbedProfilesConfig } from '../stages/embed_profiles/config.js';
import { DayAccumulator } from '../stages/embed_profiles/day.js';
import { type DayToEmbed, embedDays, patternRow } from '../stages/embed_profiles/embed.js';
import { loadProfileEncoder } from '../stages/embed_profiles/encoder.js';
import { ensureCollections, searchVectors, upsertRows } from '../stages/embed_profiles/milvus-store.js';
import { connectMilvus } from '../stages/shared/milvus-client.js';

const stats = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    mean: xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length),
    p95: sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(0.95 * sorted.length) - 1))] ?? 0,
  };
};

/** A small deterministic generator (mulberry32): the same run makes the same vectors. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runEmbedBenchCli(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      vectors: { type: 'string', default: '100000' },
      batch: { type: 'string', default: '1000' },
      searches: { type: 'string', default: '200' },
      bdg2: { type: 'string', default: new URL('../../shared/data/bdg2', import.meta.url).pathname },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const total = Number(values.vectors);
  const batch = Number(values.batch);
  const searches = Number(values.searches);
  for (const [name, n] of [
    ['--vectors', total],
    ['--batch', batch],
    ['--searches', searches],
  ] as const)
    if (!Number.isInteger(n) || n < 1) {
      console.error(`bench embed: ${name} must be a positive integer`);
      return 2;
    }
  const env = loadEnv();
  const config = toEmbedProfilesConfig(parseEnvSection(embedProfilesSettings, process.env));
  const log = (line: string) => console.error(`bench embed: ${line}`);
  const templates = (await readSliceDays({ dir: values.bdg2 })).flatMap((m) =>
    [...m.days.values()].filter((d) => d.missingHours === 0).map((acc) => ({ m, acc })),
  );
  if (templates.length === 0) {
    console.error(`bench embed: no complete days in ${values.bdg2}; pass --bdg2 DIR (a BDG2 directory)`);
    return 1;
  }
  const encoder = await loadProfileEncoder(config.modelPath);
  const client = await connectMilvus(env.MILVUS_ADDRESS, { timeoutMs: 120_000 });
  const collection = `bench_patterns_${Date.now()}_${process.pid}`;
  const names = { patterns: collection, signatures: `${collection}_s` };
  const rand = random(7);
  const embedMs: number[] = [];
  const upsertMs: number[] = [];
  try {
    await ensureCollections(client, names);
    log(`collection ${collection}; ${templates.length} template days`);
    let made = 0;
    let lastLog = performance.now();
    while (made < total) {
      const n = Math.min(batch, total - made);
      const days: DayToEmbed[] = [];
      for (let i = 0; i < n; i++) {
        const k = made + i;
        const t = templates[k % templates.length] as (typeof templates)[number];
        const meter = Math.floor(k / templates.length);
        const scale = 0.5 + rand() * 2;
        const acc = new DayAccumulator(t.acc.day);
        for (const [h, v] of t.acc.values) acc.add(h, v * scale * (1 + (rand() - 0.5) * 0.1));
        days.push({
          info: {
            meterId: `${t.m.buildingId}~${meter}:${t.m.meterType}`,
            buildingId: `${t.m.buildingId}~${meter}`,
            siteId: t.m.siteId,
            meterType: t.m.meterType,
            zone: t.m.zone,
            primaryUse: t.m.primaryUse,
            floorAreaSqm: t.m.floorAreaSqm,
          },
          acc,
        });
      }
      const e0 = performance.now();
      const vectors = await embedDays(encoder, days);
      embedMs.push(performance.now() - e0);
      const rows = days.map((d, i) => patternRow(d, vectors[i] as number[], encoder.version, Date.now()));
      const u0 = performance.now();
      await upsertRows(client, collection, rows);
      upsertMs.push(performance.now() - u0);
      made += n;
      if (performance.now() - lastLog > 5_000 || made === total) {
        lastLog = performance.now();
        log(`${made}/${total} vectors`);
      }
    }
    const count = Number((await client.count({ collection_name: collection })).data);
    const searchMs: number[] = [];
    const probe = random(11);
    for (let i = 0; i < searches; i++) {
      const v = Array.from({ length: 384 }, () => probe() - 0.5);
      const s0 = performance.now();
      await searchVectors(client, collection, [v], { limit: 10, ef: config.searchEf, outputFields: ['building_id'] });
      searchMs.push(performance.now() - s0);
    }
    const embedTotal = embedMs.reduce((s, x) => s + x, 0);
    const result = {
      vectors: count,
      batch,
      days_per_s: Math.round((total / embedTotal) * 1000),
      upsert_ms: stats(upsertMs),
      search_ms: stats(searchMs),
      ef: config.searchEf,
      encoder: encoder.version,
    };
    if (values.json) console.log(JSON.stringify(result));
    else
      console.log(
        `bench embed: vectors=${result.vectors} batch=${batch} days_per_s=${result.days_per_s} upsert_ms_mean=${result.upsert_ms.mean.toFixed(1)} upsert_ms_p95=${result.upsert_ms.p95.toFixed(1)} search_ms_mean=${result.search_ms.mean.toFixed(1)} search_ms_p95=${result.search_ms.p95.toFixed(1)} ef=${result.ef}`,
      );
    return 0;
  } finally {
    if (values.keep) log(`kept ${collection}`);
    else {
      await client.dropCollection({ collection_name: collection }).catch(() => undefined);
      await client.dropCollection({ collection_name: names.signatures }).catch(() => undefined);
    }
    await client.closeConnection().catch(() => undefined);
    await encoder.release();
  }
}
