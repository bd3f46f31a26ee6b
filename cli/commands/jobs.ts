import { loadEnv } from '../../config/load.js';
import { findJob, type JobReport, jobs } from '../../jobs/registry.js';
import { errorMessage } from '../../pipeline/index.js';
import { createPgClient } from '../../stages/shared/pg-client.js';
import { asPostgresUnreachable } from '../../stages/shared/pg-wait.js';
import { type Command, UsageError } from '../command.js';

const usage = `Usage: eaio jobs <list|run> [name]

  list         the maintenance jobs, with the schedule they are meant to run on
  run <name>   run one job once against DATABASE_URL and print what it did as one key=value line

Jobs:
${jobs.map((job) => `  ${job.name.padEnd(18)} ${job.summary}${job.aliases ? ` (also: ${job.aliases.join(', ')})` : ''}`).join('\n')}

Examples:
  eaio jobs list
  eaio jobs run aggregate_refresh
  DATABASE_URL=postgres://eaio:eaio@127.0.0.1:55432/other eaio jobs run aggregate_refresh`;

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'list the maintenance jobs, or run one once (e.g. aggregate_refresh)',
  usage,
  async run(argv) {
    const [action, name, ...extra] = argv;
    if (action === 'list') {
      if (name !== undefined) throw new UsageError(`unexpected argument "${name}"`);
      for (const job of jobs)
        console.log(
          `${job.name.padEnd(18)} ${job.defaultSchedule.padEnd(12)} ${job.summary}${job.aliases ? ` (also: ${job.aliases.join(', ')})` : ''}`,
        );
      return 0;
    }
    if (action !== 'run') throw new UsageError(action ? `unknown action "${action}"` : 'missing action: list or run');
    if (name === undefined) throw new UsageError('name the job to run');
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const job = findJob(name);
    if (!job) throw new UsageError(`unknown job "${name}" (known: ${jobs.map((j) => j.name).join(', ')})`);

    const env = loadEnv();
    const sql = createPgClient(env.DATABASE_URL, { max: 1, applicationName: `eaio-jobs-${job.name}` });
    const url = new URL(env.DATABASE_URL);
    process.stderr.write(`running ${job.name} on ${url.host}${url.pathname} …\n`);
    const started = performance.now();
    try {
      const report = await job.run({ sql });
      console.log(keyValueLine({ job: job.name, ...report, duration_ms: Math.round(performance.now() - started) }));
      return 0;
    } catch (error) {
      // One line with the fix, like every command (cli/main.ts renders it).
      const unreachable = asPostgresUnreachable(error, sql);
      if (unreachable) throw unreachable;
      console.error(`eaio jobs run ${job.name}: ${describeError(error)}`);
      return 1;
    } finally {
      await sql.end({ timeout: 5 });
    }
  },
};

/** `key=value key=value`; a value with spaces or quotes is written as a JSON string. */
export function keyValueLine(fields: JobReport): string {
  return Object.entries(fields)
    .map(([key, value]) => {
      const text = String(value);
      return `${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
    })
    .join(' ');
}

function describeError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === '3D000') return 'the database in DATABASE_URL does not exist — create it (createdb) or fix DATABASE_URL';
  if (code === '28P01') return 'authentication failed — check the user and password in DATABASE_URL';
  if (code === '42883' || code === '42P01')
    return `${errorMessage(error)} — has \`eaio migrate\` been run on this database?`;
  return errorMessage(error);
}
