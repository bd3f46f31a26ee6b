import { parseArgs } from 'node:util';
import { loadEnv, parseEnvSection } from '../../config/load.js';
import { type Command, UsageError } from '../command.js';

const usage = `Usage: eaio similar <building> [--limit N] [--meter TYPE] [--from DATE] [--to DATE] [--days N] [--json]
       eaio similar --anomaly ID [--limit N] [--json]

Which buildings behave like <building>? Its most recent daily load-profile vectors in Milvus
(building_patterns, written by the embed_profiles stage) are searched against every other
building's days; a building scores the mean over those days of its best match (cosine).
With --anomaly, the past anomalies (anomaly_signatures) most like the one with that id
(\`<meter_id>@<ISO hour>\`, e.g. Panther_office_Karla:electricity@2017-02-14T19:00:00.000Z).

  --limit N     how many to list (default 10)
  --meter TYPE  meter type compared (default: the building's type with the most days)
  --from DATE   only the building's days from this local date (YYYY-MM-DD) ...
  --to DATE     ... to this one (inclusive)
  --days N      most recent days used (default 14)
  --json        print one JSON object

Reads MILVUS_ADDRESS, EAIO_EMBED_PROFILES_PATTERNS_COLLECTION, EAIO_EMBED_PROFILES_SIGNATURES_COLLECTION
and EAIO_EMBED_PROFILES_SEARCH_EF. Exit 0 when found, 1 when the building or anomaly has no vectors
or Milvus is unreachable, 2 on a usage error.`;

const positiveInt = (text: string | undefined, what: string, fallback: number): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new UsageError(`${what} must be an integer 1–1000, not "${text}"`);
  return n;
};

export const similarCommand: Command = {
  name: 'similar',
  summary: 'buildings (or past anomalies) that behave like a given one, from the Milvus vectors',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        limit: { type: 'string' },
        meter: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        days: { type: 'string' },
        anomaly: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const limit = positiveInt(values.limit, '--limit', 10);
    const days = positiveInt(values.days, '--days', 14);
    if (values.anomaly && positionals.length > 0) throw new UsageError('pass a building or --anomaly ID, not both');
    if (!values.anomaly && positionals.length !== 1)
      throw new UsageError(positionals.length ? `one building, not ${positionals.length}` : 'missing the building id');
    for (const [name, d] of [
      ['--from', values.from],
      ['--to', values.to],
    ] as const)
      if (d !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(d))
        throw new UsageError(`${name} must be YYYY-MM-DD, not "${d}"`);

    const env = loadEnv();
    const { embedProfilesSettings, toEmbedProfilesConfig } = await import('../../stages/embed_profiles/config.js');
    const config = toEmbedProfilesConfig(parseEnvSection(embedProfilesSettings, process.env));
    const { connectMilvus } = await import('../../stages/shared/milvus-client.js');
    const { findSimilarAnomalies, findSimilarBuildings, NotFoundError } = await import(
      '../../stages/embed_profiles/search.js'
    );
    const client = await connectMilvus(env.MILVUS_ADDRESS);
    try {
      if (values.anomaly) {
        const found = await findSimilarAnomalies(
          client,
          { id: values.anomaly },
          { limit, ef: config.searchEf, collections: config.collections },
        );
        if (values.json) console.log(JSON.stringify({ anomaly: values.anomaly, similar: found }));
        else {
          console.log(`anomalies like ${values.anomaly}:`);
          for (const a of found)
            console.log(
              `  ${a.similarity.toFixed(3)}  ${a.meterId}  ${a.time}  value=${a.value} expected=${a.expected} score=${a.score.toFixed(3)}`,
            );
        }
        return 0;
      }
      const building = positionals[0] as string;
      const result = await findSimilarBuildings(client, building, {
        limit,
        days,
        ef: config.searchEf,
        collections: config.collections,
        ...(values.meter ? { meter: values.meter } : {}),
        ...(values.from ? { from: values.from } : {}),
        ...(values.to ? { to: values.to } : {}),
      });
      if (values.json) console.log(JSON.stringify(result));
      else {
        console.log(`buildings like ${building} (${result.meter}, ${result.queryDays} days):`);
        for (const s of result.similar)
          console.log(`  ${s.similarity.toFixed(3)}  ${s.buildingId.padEnd(32)} ${s.primaryUse ?? '-'}`);
      }
      return 0;
    } catch (error) {
      if (error instanceof NotFoundError) {
        console.error(`similar: ${error.message}; is embed_profiles running (eaio run embed_profiles)?`);
        return 1;
      }
      throw error;
    } finally {
      await client.closeConnection().catch(() => undefined);
    }
  },
};
