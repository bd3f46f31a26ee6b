import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { loadEnv } from '../../config/load.js';
import { type Command, UsageError } from '../command.js';
import { EAIO_NODE_FLAGS } from '../node-flags.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const eaioBin = fileURLToPath(new URL('../../bin/eaio.mjs', import.meta.url));
const defaultSample = fileURLToPath(new URL('../../data/bdg2-sample', import.meta.url));

const usage = `Usage: eaio demo [--bdg2 DIR] [--variant cleaned|raw] [--keep-running]

The main job on the local stack, end to end:
  1. eaio services up      PostgreSQL+PostGIS, Kafka, Milvus Lite, Prometheus on 127.0.0.1
  2. eaio migrate          schema (TimescaleDB when present, monthly partitions otherwise)
  3. eaio import           BDG2 metadata: sites, buildings, meters
  4. eaio replay           BDG2 readings and weather onto the raw topics
  5. eaio run all          every stage until the topics are drained
  6. a summary             rows written, weather joined; eaio status: lag and dead letters

  --bdg2 DIR        BDG2-layout folder (default: the committed sample data/bdg2-sample)
  --variant         which meter files to replay (default cleaned)
  --keep-running    after the summary keep the stages running (Ctrl-C to stop)

Replaying twice is safe: the writer is idempotent on (meter, time).`;

function eaio(args: readonly string[], step: string): Promise<void> {
  console.log(`\n▶ ${step}: eaio ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...EAIO_NODE_FLAGS, eaioBin, ...args], { stdio: 'inherit', cwd: repoRoot });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${step} failed (exit ${code ?? signal}); see the output above for the fix`));
    });
  });
}

async function printSummary(databaseUrl: string): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [readings] = await sql<{ rows: string; meters: string; with_weather: string; first: Date; last: Date }[]>`
      select count(*)::text as rows, count(distinct meter_id)::text as meters,
             count(air_temperature)::text as with_weather, min(time) as first, max(time) as last
      from meter_readings`;
    const byType = await sql<{ meter_type: string; rows: string }[]>`
      select meter_type::text, count(*)::text as rows from meter_readings group by 1 order by 1`;
    // The roll-ups are refreshed every minute by the writer; the demo refreshes them now to show them.
    await sql`select * from eaio_refresh_aggregates()`;
    const [flagged] = await sql<{ anomalies: string; meters: string }[]>`
      select count(*)::text as anomalies, count(distinct meter_id)::text as meters from anomalies`;
    const [rollups] = await sql<{ hourly: string; daily: string }[]>`
      select (select count(*) from meter_readings_hourly)::text as hourly,
             (select count(*) from meter_readings_daily)::text as daily`;
    console.log('\n■ Summary');
    console.log(`  meter_readings: ${readings?.rows} rows from ${readings?.meters} meters`);
    console.log(`  time range:     ${readings?.first?.toISOString()} → ${readings?.last?.toISOString()}`);
    console.log(`  with weather:   ${readings?.with_weather} rows`);
    for (const row of byType) console.log(`  ${row.meter_type.padEnd(14)}  ${row.rows} rows`);
    console.log(
      `  roll-ups:       meter_readings_hourly ${rollups?.hourly} rows, meter_readings_daily ${rollups?.daily} rows`,
    );
    console.log(
      `  anomalies:      ${flagged?.anomalies} flagged readings on ${flagged?.meters} meters (score_anomaly)`,
    );
  } finally {
    await sql.end();
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the main job on the local stack (services, schema, BDG2 sample through every stage)',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        bdg2: { type: 'string', default: defaultSample },
        variant: { type: 'string', default: 'cleaned' },
        'keep-running': { type: 'boolean', default: false },
      },
    });
    const dir = values.bdg2;
    if (!existsSync(dir)) throw new UsageError(`no BDG2 folder at ${dir}`);
    const started = Date.now();
    const env = loadEnv();
    await eaio(['services', 'up'], '1/6 local stack');
    await eaio(['migrate'], '2/6 schema');
    await eaio(['import', '--bdg2', dir], '3/6 catalog');
    await eaio(['replay', '--bdg2', dir, '--variant', values.variant], '4/6 replay');
    await eaio(['run', 'all', '--exit-when-idle'], '5/6 stages');
    await printSummary(env.DATABASE_URL);
    await eaio(['status'], '6/6 stage status (consumer lag, dead letters)');
    console.log(`\n✔ demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(
      '  Inspect: npx eaio status · npx eaio dlq list validate · npx eaio similar <building> · psql "$DATABASE_URL"',
    );
    if (values['keep-running']) await eaio(['run', 'all'], 'stages (Ctrl-C to stop)');
    return 0;
  },
};
