import postgres from 'postgres';
import { loadEnv } from '../../config/load.js';
import { errorMessage } from '../../pipeline/index.js';
import { migrate, migrationStatus } from '../../sql/migrate.js';
import { asPostgresUnreachable } from '../../stages/shared/pg-wait.js';
import { type Command, UsageError } from '../command.js';

const usage = `Usage: eaio migrate [--status]

Applies the numbered SQL migrations in sql/migrations/ that the database (DATABASE_URL) has not
seen yet, each in its own transaction, under an advisory lock. Running it again is a no-op.
With TimescaleDB installed, meter_readings becomes a hypertable with continuous aggregates;
without it, a monthly-partitioned table with refreshed materialized views.
Then creates the Milvus collections of embed_profiles (MILVUS_ADDRESS) when missing; Milvus not
reachable is reported and left to the stage, which creates them when it starts.

Options:
  --status   list every migration as applied / pending / changed, and which storage path is active

Examples:
  eaio migrate
  eaio migrate --status
  DATABASE_URL=postgres://eaio:eaio@127.0.0.1:55432/other eaio migrate`;

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply the SQL migrations (idempotent); --status lists them',
  usage,
  async run(argv) {
    const unknown = argv.filter((a) => a !== '--status');
    if (unknown.length > 0) throw new UsageError(`unknown argument "${unknown[0]}"`);
    const env = loadEnv();
    const sql = postgres(env.DATABASE_URL, { max: 2, onnotice: () => undefined, connect_timeout: 10 });
    try {
      if (argv.includes('--status')) return await printStatus(sql);
      const result = await migrate(sql, {
        onApplied: (m, ms) => console.log(`applied ${m.file} (${Math.round(ms)} ms)`),
      });
      console.log(
        result.applied.length === 0
          ? `database is up to date (${result.alreadyApplied} migrations applied)`
          : `applied ${result.applied.length} migration(s); ${result.alreadyApplied} were already applied`,
      );
      const { migrateMilvus } = await import('../../sql/milvus.js');
      const milvus = await migrateMilvus(env.MILVUS_ADDRESS);
      if (milvus.kind === 'unreachable')
        console.error(
          `eaio migrate: Milvus not reachable (${milvus.reason}); embed_profiles creates its collections when it starts`,
        );
      else
        console.log(
          milvus.created.length > 0
            ? `Milvus: created ${milvus.created.join(', ')}`
            : `Milvus: collections present (${milvus.existing.join(', ')})`,
        );
      return 0;
    } catch (error) {
      const unreachable = asPostgresUnreachable(error, sql);
      if (unreachable) throw unreachable;
      console.error(`eaio migrate: ${describeError(error)}`);
      return 1;
    } finally {
      await sql.end({ timeout: 5 });
    }
  },
};

async function printStatus(sql: postgres.Sql): Promise<number> {
  const rows = await migrationStatus(sql);
  for (const r of rows) {
    const when = r.appliedAt ? `  ${r.appliedAt.toISOString()}` : '';
    console.log(`${String(r.version).padStart(4, '0')}_${r.name.padEnd(28)} ${r.state}${when}`);
  }
  const [path] = await sql<{ timescale: boolean | null }[]>`
    SELECT CASE WHEN to_regproc('eaio_has_timescaledb') IS NULL THEN NULL ELSE eaio_has_timescaledb() END AS timescale`;
  if (path?.timescale !== null && path?.timescale !== undefined) {
    console.log(
      `storage: ${path.timescale ? 'TimescaleDB hypertable + continuous aggregates' : 'monthly partitions + materialized views'}`,
    );
  }
  return rows.some((r) => r.state === 'changed') ? 1 : 0;
}

function describeError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === '3D000') return 'the database in DATABASE_URL does not exist — create it (createdb) or fix DATABASE_URL';
  if (code === '28P01') return 'authentication failed — check the user and password in DATABASE_URL';
  return errorMessage(error);
}
