/**
 * `eaio bench embed`: the embedding side of embed_profiles on the configured Milvus. Days are made
 * from the BDG2 slice's real days (each template day scaled, noised and shifted per synthetic
 * meter, deterministic), then
 *  - days embedded per second: features + the ONNX encoder, in the stage's batches;
 *  - Milvus upsert latency per batch of rows (mean, p95) while the collection fills up to --vectors,
 *    flushing as the stage does (flush.ts: every 2,000 rows on Milvus Lite, never on Milvus);
 *  - top-10 search latency (mean, p95) of single-vector searches at that size (ef from the
 *    settings), first as written, then after a flush once the index covers every row;
 *  - the latency of findSimilarBuildings' search (14 query days, top 200 each, filtered);
 *  - with --variants, other request shapes, as written and flushed (searchVariants).
 * Prints the server and what its search latency depends on. Runs on a throw-away collection
 * (dropped unless --keep).
 */
import { parseArgs } from 'node:util';
import { loadEnv, parseEnvSection } from '../config/load.js';
import { readSliceDays } from '../eval/profile-days.js';
import { embedProfilesSettings, toEmbedProfilesConfig } from '../stages/embed_profiles/config.js';
import { DayAccumulator } from '../stages/embed_profiles/day.js';
import { type DayToEmbed, embedDays, patternRow } from '../stages/embed_profiles/embed.js';
import { loadProfileEncoder } from '../stages/embed_profiles/encoder.js';
import {
  describeServer,
  FlushPolicy,
  flushCollection,
  LITE_FLUSH_ROWS,
  type MilvusServer,
} from '../stages/embed_profiles/flush.js';
import {
  checkStatus,
  ensureCollections,
  milvusString,
  SEARCH_CONSISTENCY,
  searchVectors,
  upsertRows,
} from '../stages/embed_profiles/milvus-store.js';
import { DEFAULT_QUERY_DAYS, HITS_PER_QUERY, searchOtherBuildingsDays } from '../stages/embed_profiles/search.js';
import { connectMilvus } from '../stages/shared/milvus-client.js';

type Client = Awaited<ReturnType<typeof connectMilvus>>;
type Stats = { mean: number; p95: number };
const stats = (xs: readonly number[]): Stats => {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    mean: xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length),
    p95: sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(0.95 * sorted.length) - 1))] ?? 0,
  };
};
const ms = (s: Stats) => `mean=${s.mean.toFixed(1)} ms p95=${s.p95.toFixed(1)} ms`;

/** What a search costs on this kind of server (read from its source or documentation; docs/storage.md). */
export function latencyDependsOn(server: MilvusServer): string {
  return server.kind === 'milvus-lite'
    ? "Milvus Lite (pure Python): FAISS HNSW on flushed segments only; every search or query also walks all rows' keys in Python, copies each unflushed row's vector, and copies every hit's whole row; so latency grows with rows, unflushed rows and nq x limit"
    : "Milvus standalone: HNSW on sealed segments (ef), growing segments searched natively; a Strong read waits for the server's sync timestamp (0.2–0.3 s on 2.3.5), so searches read Bounded; latency grows with ef, nq x limit and output fields";
}

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

const checkFlush = (r: { status?: { error_code?: string | number; reason?: string } }) =>
  checkStatus('flush', r.status);

async function timed(n: number, call: (i: number) => Promise<unknown>): Promise<Stats> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call(i);
    times.push(performance.now() - t0);
  }
  return stats(times);
}

/** Waits (bounded) until the server reports every row of `collection` indexed; Milvus Lite always does. */
async function waitForIndex(client: Client, collection: string, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + 600_000;
  let lastLog = 0;
  while (Date.now() < deadline) {
    const d = await client.describeIndex({ collection_name: collection, field_name: 'embedding' });
    const index = d.index_descriptions?.[0];
    const indexed = Number(index?.indexed_rows ?? 0);
    const total = Number(index?.total_rows ?? 0);
    if (!index || (indexed >= total && Number(index.pending_index_rows ?? 0) === 0)) return;
    if (Date.now() - lastLog > 5_000) {
      lastLog = Date.now();
      log(`index covers ${indexed}/${total} rows`);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  log('index still incomplete after 10 min; searching anyway');
}

/**
 * Request shapes whose latency the server may or may not care about: output fields, a filter,
 * the number of hits, several query vectors in one request, and findSimilarBuildings' two calls.
 */
function searchVariants(client: Client, collection: string, building: string, meter: string, query: () => number[]) {
  const other = `building_id != ${milvusString(building)} && meter_type == ${milvusString(meter)}`;
  const search = (n: number, limit: number, outputFields: string[], filter?: string) => () =>
    searchVectors(
      client,
      collection,
      Array.from({ length: n }, query),
      filter ? { limit, ef: 64, outputFields, filter } : { limit, ef: 64, outputFields },
    );
  const own = async () => {
    const r = await client.query({
      collection_name: collection,
      filter: `building_id == ${milvusString(building)} && meter_type == ${milvusString(meter)}`,
      output_fields: ['day', 'meter_type', 'embedding'],
      limit: 16_384,
      consistency_level: SEARCH_CONSISTENCY,
    });
    checkStatus('query', r.status);
  };
  return [
    ['top-10, no output field', search(1, 10, [])],
    ['top-10, building_id', search(1, 10, ['building_id'])],
    ['top-10, 3 fields', search(1, 10, ['building_id', 'primary_use', 'site_id'])],
    ['top-10, filtered', search(1, 10, ['building_id'], other)],
    ['top-100', search(1, 100, ['building_id'])],
    ['top-200', search(1, 200, ['building_id'])],
    [`${DEFAULT_QUERY_DAYS} queries x top-10`, search(DEFAULT_QUERY_DAYS, 10, ['building_id'])],
    [
      `${DEFAULT_QUERY_DAYS} queries x top-200, filtered, 1 field`,
      search(DEFAULT_QUERY_DAYS, 200, ['building_id'], other),
    ],
    [
      `${DEFAULT_QUERY_DAYS} queries x top-200, filtered, 3 fields (findSimilarBuildings' shape)`,
      search(DEFAULT_QUERY_DAYS, 200, ['building_id', 'primary_use', 'site_id'], other),
    ],
    ["a building's own days with vectors (findSimilarBuildings' query)", own],
  ] as const;
}

export async function runEmbedBenchCli(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      vectors: { type: 'string', default: '100000' },
      batch: { type: 'string', default: '1000' },
      searches: { type: 'string', default: '200' },
      'flush-rows': { type: 'string' },
      variants: { type: 'boolean', default: false },
      bdg2: { type: 'string', default: new URL('../../shared/data/bdg2', import.meta.url).pathname },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const total = Number(values.vectors);
  const batch = Number(values.batch);
  const searches = Number(values.searches);
  const flushRowsOption = values['flush-rows'] === undefined ? undefined : Number(values['flush-rows']);
  for (const [name, n, min] of [
    ['--vectors', total, 1],
    ['--batch', batch, 1],
    ['--searches', searches, 1],
    ['--flush-rows', flushRowsOption ?? 0, 0],
  ] as const)
    if (!Number.isInteger(n) || n < min) {
      console.error(`bench embed: ${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer`);
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
  const server = await describeServer(client);
  // As the stage: every LITE_FLUSH_ROWS rows on Milvus Lite, never on Milvus (--flush-rows overrides).
  const flushRows = flushRowsOption ?? (server.kind === 'milvus-lite' ? LITE_FLUSH_ROWS : 0);
  const flushMs: number[] = [];
  const flushes = new FlushPolicy(async (c) => {
    const f0 = performance.now();
    await flushCollection(client, c);
    flushMs.push(performance.now() - f0);
  }, flushRows);
  log(`server ${server.version} (${server.kind}); explicit flush ${flushRows ? `every ${flushRows} rows` : 'never'}`);
  log(`search latency depends on: ${latencyDependsOn(server)}`);
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
      await flushes.wrote(collection, rows.length);
      made += n;
      if (performance.now() - lastLog > 5_000 || made === total) {
        lastLog = performance.now();
        log(`${made}/${total} vectors`);
      }
    }
    const count = Number((await client.count({ collection_name: collection })).data);
    const unflushed = flushes.unflushed(collection);
    const probe = random(11);
    const query = () => Array.from({ length: 384 }, () => probe() - 0.5);
    const top10 = () =>
      timed(searches, () =>
        searchVectors(client, collection, [query()], { limit: 10, ef: config.searchEf, outputFields: ['building_id'] }),
      );
    log(`${searches} top-10 searches; ${unflushed} of ${count} rows written since the last explicit flush`);
    const searchAsWritten = await top10();
    log(`top-10 search as written: ${ms(searchAsWritten)}`);
    const first = templates[0] as (typeof templates)[number];
    const variants = async (state: string) => {
      if (!values.variants) return;
      const n = Math.max(3, Math.ceil(searches / 20));
      for (const [name, call] of searchVariants(
        client,
        collection,
        `${first.m.buildingId}~0`,
        first.m.meterType,
        query,
      ))
        log(`variant ${state}, ${name}, ${n} times: ${ms(await timed(n, call))}`);
    };
    await variants('as written');
    const f0 = performance.now();
    checkFlush(await client.flushSync({ collection_names: [collection] }));
    await waitForIndex(client, collection, log);
    log(`flushed and indexed in ${(performance.now() - f0).toFixed(0)} ms`);
    const searchFlushed = await top10();
    log(`top-10 search, all rows flushed: ${ms(searchFlushed)}`);
    await variants('flushed');
    const similarSearches = Math.max(1, Math.ceil(searches / 4));
    const similar = await timed(similarSearches, () =>
      searchOtherBuildingsDays(client, collection, Array.from({ length: DEFAULT_QUERY_DAYS }, query), {
        buildingId: `${first.m.buildingId}~0`,
        meter: first.m.meterType,
        ef: config.searchEf,
      }),
    );
    log(
      `findSimilarBuildings search (${DEFAULT_QUERY_DAYS} query days x top ${HITS_PER_QUERY}, filtered), all rows flushed, ${similarSearches} times: ${ms(similar)}`,
    );
    const embedTotal = embedMs.reduce((s, x) => s + x, 0);
    const result = {
      vectors: count,
      batch,
      days_per_s: Math.round((total / embedTotal) * 1000),
      upsert_ms: stats(upsertMs),
      search_ms: searchAsWritten,
      ef: config.searchEf,
      encoder: encoder.version,
      server: server.version,
      flush_rows: flushRows,
      flushes: flushMs.length,
      flush_ms: stats(flushMs),
      unflushed,
      search_flushed_ms: searchFlushed,
      similar_ms: similar,
    };
    const f1 = (x: number) => x.toFixed(1);
    if (values.json) console.log(JSON.stringify(result));
    else
      console.log(
        `bench embed: vectors=${result.vectors} batch=${batch} days_per_s=${result.days_per_s} upsert_ms_mean=${f1(result.upsert_ms.mean)} upsert_ms_p95=${f1(result.upsert_ms.p95)} search_ms_mean=${f1(result.search_ms.mean)} search_ms_p95=${f1(result.search_ms.p95)} ef=${result.ef} server=${result.server} flush_rows=${flushRows} flush_ms_mean=${f1(result.flush_ms.mean)} unflushed=${unflushed} search_flushed_ms_mean=${f1(searchFlushed.mean)} search_flushed_ms_p95=${f1(searchFlushed.p95)} similar_ms_mean=${f1(similar.mean)} similar_ms_p95=${f1(similar.p95)}`,
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
