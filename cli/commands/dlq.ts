import { parseArgs } from 'node:util';
import type { Sql } from 'postgres';
import { loadEnv } from '../../config/load.js';
import {
  type DeadLetterKind,
  type DeadLetterView,
  deadLetterTopic,
  errorMessage,
  kafkaBrokerFromEnv,
  loggerFromEnv,
  type ProducerPort,
  RUNTIME_DEAD_LETTER_CODES,
  RUNTIME_DEAD_LETTER_KINDS,
  readDeadLetter,
  runnerOptionsFromEnv,
} from '../../pipeline/index.js';
import { stageDescriptors } from '../../stages/registry.js';
import { createPgClient } from '../../stages/shared/pg-client.js';
import { asPostgresUnreachable } from '../../stages/shared/pg-wait.js';
import { type Command, UsageError } from '../command.js';
import { type ExportSkip, exportLine, skipExplanation } from '../dlq-export.js';
import { type EntryState, loadHandled, markHandled, pruneHandled, stateOf } from '../dlq-handled.js';
import { type DeadLetterEntry as Entry, ReplayInterrupted, type ReplayProgress, sendAndRecord } from '../dlq-replay.js';

const usage = `Usage: eaio dlq <list|replay|export> <stage> [--code <code>] [options]

  list     the stage's dead letters: failure time, state (pending, replayed, exported), code,
           source topic/partition/offset, attempts, message
  replay   send the pending ones' original key, value and headers back to their source topic and
           record them as replayed, so a second replay sends nothing new. Entries whose content is
           the cause (e.g. timestamp_missing_offset) are not sent: the stage would reject them
           again; a warning per code says how many and how to correct them (export, edit, publish)
  export   write JSON lines {"value": <payload>, "headers": {...}} to stdout, the form
           \`eaio publish\` reads: edit the values, then publish the file. Payloads that are not
           JSON are left out and counted on stderr

  --code C             only dead letters with this code
  --json               list: JSON lines
  --limit N            list: at most N (default 100; 0 = all)
  --pending            list, export: only entries not replayed or exported yet
  --again              replay: send entries already replayed or exported as well
  --include-content    replay: send entries whose content is the cause as well
  --mark               export: record the exported entries as handled (exported), so replay and
                       status no longer count them as pending

Which entries were handled is kept in PostgreSQL (table dlq_handled, DATABASE_URL).

Example (a wrong unit, corrected by hand):
  eaio dlq export validate --code unknown_unit --pending --mark > fix.jsonl
  $EDITOR fix.jsonl && eaio publish fix.jsonl`;

/** Every dead-letter code the runtime and the registered stages can give (docs/messages.md explains each). */
export const knownDeadLetterCodes = (): string[] => [
  ...new Set([...RUNTIME_DEAD_LETTER_CODES, ...stageDescriptors.flatMap((d) => d.codes?.deadLetterCodes ?? [])]),
];

/** Whether a code of `stage` is fixed by correcting the record (content) or around it; undefined for an unknown code. */
export function deadLetterKind(stage: string, code: string): DeadLetterKind | undefined {
  const kinds: Readonly<Record<string, DeadLetterKind>> = {
    ...(stageDescriptors.find((d) => d.name === stage)?.codes?.deadLetterKinds ?? {}),
    ...RUNTIME_DEAD_LETTER_KINDS,
  };
  return Object.hasOwn(kinds, code) ? kinds[code] : undefined;
}

const widest = (texts: readonly string[]): number => texts.reduce((most, t) => Math.max(most, t.length), 0);
const stateWidth = widest(['pending', 'replayed', 'exported']);

/**
 * One line per dead letter, in aligned columns: the code column is as wide as the longest known
 * code (or a longer one shown, e.g. from another version), the source as the longest shown. With
 * `states`, each line shows its entry's state after the time.
 */
export function describeDeadLetters(
  views: readonly DeadLetterView[],
  states?: readonly (EntryState | '?')[],
): string[] {
  const source = (v: DeadLetterView) => `${v.sourceTopic}:${v.sourcePartition}@${v.sourceOffset}`;
  const codeWidth = widest([...knownDeadLetterCodes(), ...views.map((v) => v.code)]);
  const sourceWidth = widest(views.map(source));
  const timeWidth = widest(views.map((v) => v.failedAt));
  return views.map((v, i) => {
    const state = states ? `${(states[i] ?? '?').padEnd(stateWidth)}  ` : '';
    return `${v.failedAt.padEnd(timeWidth)}  ${state}${v.code.padEnd(codeWidth)}  ${source(v).padEnd(sourceWidth)}  attempts=${v.attempts}  ${v.message}`;
  });
}

/** Counts per code, in first-seen order. */
function countByCode(views: readonly DeadLetterView[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of views) counts.set(v.code, (counts.get(v.code) ?? 0) + 1);
  return counts;
}

/** The warning lines of a replay about entries whose content is the cause, one per code. */
export function contentWarnings(stage: string, content: readonly DeadLetterView[], included: boolean): string[] {
  if (content.length === 0) return [];
  const lines = [...countByCode(content)].map(([code, n]) =>
    included
      ? `${n} ${code} replayed although their content is the cause: ${stage} will likely reject them again`
      : `${n} ${code} not replayed: their content is the cause, ${stage} would reject them again`,
  );
  const codes = [...countByCode(content).keys()];
  const example = codes.length === 1 ? ` --code ${codes[0]}` : ' --code <code>';
  lines.push(
    `correct them instead: eaio dlq export ${stage}${example} --pending --mark > fix.jsonl, edit fix.jsonl, eaio publish fix.jsonl${included ? '' : ' (or send them anyway with --include-content)'}`,
  );
  return lines;
}

/** An expected database problem, printed as its one line (no stack trace). */
class DatabaseProblem extends Error {}

/** A database error as one line naming the fix (an unreachable server is rendered by cli/main.ts). */
function databaseProblem(error: unknown, sql: Sql): Error {
  if (error instanceof DatabaseProblem) return error;
  const unreachable = asPostgresUnreachable(error, sql);
  if (unreachable) return unreachable;
  const code = (error as { code?: string }).code;
  const hint = code === '42P01' ? ' — has `eaio migrate` been run on this database?' : '';
  return new DatabaseProblem(`eaio dlq: ${errorMessage(error)}${hint}`);
}

export const dlqCommand: Command = {
  name: 'dlq',
  summary: 'list, replay or export a stage’s dead letters',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        code: { type: 'string' },
        json: { type: 'boolean', default: false },
        limit: { type: 'string', default: '100' },
        pending: { type: 'boolean', default: false },
        again: { type: 'boolean', default: false },
        'include-content': { type: 'boolean', default: false },
        mark: { type: 'boolean', default: false },
      },
    });
    const [action, stage] = positionals;
    if (action !== 'list' && action !== 'replay' && action !== 'export')
      throw new UsageError(action ? `unknown action "${action}"` : 'missing action');
    if (!stage) throw new UsageError('missing stage name');
    const env = loadEnv();
    const broker = kafkaBrokerFromEnv(env, loggerFromEnv({ LOG_LEVEL: 'error' }));
    const topic = deadLetterTopic(runnerOptionsFromEnv(env).naming, stage);
    await broker.probe();
    const admin = broker.admin();
    await admin.connect();
    const exists = (await admin.listTopics()).includes(topic);
    const ranges = exists ? await admin.topicOffsets(topic) : [];
    await admin.disconnect();
    if (!exists) {
      console.error(`no dead-letter topic ${topic}`);
      return 1;
    }
    const sql = createPgClient(env.DATABASE_URL, { max: 1, applicationName: `eaio-dlq-${action}` });
    try {
      const records = (await broker.readTopic(topic)).filter(
        (r) => values.code === undefined || readDeadLetter(r).code === values.code,
      );
      const entries = records.map((raw) => ({ raw, view: readDeadLetter(raw) }));
      let handled: Awaited<ReturnType<typeof loadHandled>> | undefined;
      try {
        await pruneHandled(sql, topic, ranges);
        handled = await loadHandled(sql, topic);
      } catch (error) {
        const problem = databaseProblem(error, sql);
        // --pending asks for the states themselves: an empty list would read as "nothing pending".
        if (action !== 'list' || values.pending) throw problem;
        // Listing needs only the broker: without the database the states are unknown, not the entries.
        console.error(`states unknown: ${problem.message.replace(/^eaio dlq: /, '')}`);
      }
      const state = (view: DeadLetterView): EntryState | '?' => (handled ? stateOf(view, handled) : '?');
      const selected = values.pending ? entries.filter((e) => state(e.view) === 'pending') : entries;
      if (action === 'list') return list(topic, selected, state, values);
      if (action === 'export') return await exportEntries(sql, topic, selected, values.mark);
      const producer = broker.producer();
      await producer.connect();
      try {
        return await replay(sql, producer, stage, topic, entries, state, values);
      } finally {
        await producer.disconnect();
      }
    } catch (error) {
      if (!(error instanceof DatabaseProblem)) throw error;
      console.error(error.message);
      return 1;
    } finally {
      await sql.end({ timeout: 5 });
    }
  },
};

function list(
  topic: string,
  entries: readonly Entry[],
  state: (view: DeadLetterView) => EntryState | '?',
  options: { json: boolean; limit: string },
): number {
  const limit = Number(options.limit);
  const shown = limit > 0 ? entries.slice(0, limit) : entries;
  const views = shown.map((e) => e.view);
  if (options.json) {
    for (const { key, value, ...rest } of views)
      console.log(
        JSON.stringify({
          ...rest,
          state: state({ key, value, ...rest }),
          key: key?.toString('utf8') ?? null,
          value: value?.toString('utf8') ?? null,
        }),
      );
    return 0;
  }
  for (const line of describeDeadLetters(
    views,
    views.map((v) => state(v)),
  ))
    console.log(line);
  const byState = new Map<string, number>();
  for (const e of entries) byState.set(state(e.view), (byState.get(state(e.view)) ?? 0) + 1);
  const states = [...byState].map(([s, n]) => `${n} ${s}`).join(', ');
  console.log(
    `${entries.length} dead letter(s) in ${topic}${states ? `: ${states}` : ''}${shown.length < entries.length ? ` (${shown.length} shown)` : ''}`,
  );
  return 0;
}

async function exportEntries(sql: Sql, topic: string, entries: readonly Entry[], mark: boolean): Promise<number> {
  const skipped = new Map<ExportSkip, Map<string, number>>();
  const exported: DeadLetterView[] = [];
  let out = '';
  for (const { raw, view } of entries) {
    const line = exportLine(raw);
    if (typeof line === 'string') {
      const byCode = skipped.get(line) ?? new Map<string, number>();
      byCode.set(view.code, (byCode.get(view.code) ?? 0) + 1);
      skipped.set(line, byCode);
      continue;
    }
    out += `${JSON.stringify(line)}\n`;
    exported.push(view);
  }
  await new Promise<void>((resolve, reject) => process.stdout.write(out, (e) => (e ? reject(e) : resolve())));
  for (const [why, byCode] of skipped) {
    const counts = [...byCode].map(([code, n]) => `${code} ${n}`).join(', ');
    const total = [...byCode.values()].reduce((a, b) => a + b, 0);
    console.error(`left out ${total} (${counts}): ${skipExplanation[why]}; correct them at the producer`);
  }
  if (mark) {
    try {
      await markHandled(sql, topic, exported, 'exported', true);
    } catch (error) {
      throw databaseProblem(error, sql);
    }
  }
  console.error(`exported ${exported.length} dead letter(s) from ${topic}${mark ? ', marked as exported' : ''}`);
  return 0;
}

async function replay(
  sql: Sql,
  producer: ProducerPort,
  stage: string,
  topic: string,
  entries: readonly Entry[],
  state: (view: DeadLetterView) => EntryState | '?',
  options: { again: boolean; 'include-content': boolean },
): Promise<number> {
  const due = options.again ? entries : entries.filter((e) => state(e.view) === 'pending');
  const content = due.filter((e) => deadLetterKind(stage, e.view.code) === 'content');
  const includeContent = options['include-content'];
  const sendable = includeContent ? due : due.filter((e) => deadLetterKind(stage, e.view.code) !== 'content');
  for (const line of contentWarnings(
    stage,
    content.map((e) => e.view),
    includeContent,
  ))
    console.error(line);
  let progress: ReplayProgress;
  try {
    progress = await sendAndRecord({
      sql,
      producer,
      topic,
      entries: sendable,
      again: options.again,
      databaseProblem: (error) => databaseProblem(error, sql),
      onProgress: (p) => {
        if (sendable.length > 500) process.stderr.write(`sent ${p.sent}/${sendable.length}\n`);
      },
    });
  } catch (error) {
    if (!(error instanceof ReplayInterrupted)) throw error;
    console.error(`eaio dlq replay: ${error.message.replace(/^eaio dlq: /, '')}`);
    return 1;
  }
  const { sent, taken } = progress;
  const already = entries.length - due.length + taken;
  const notes = [
    already > 0 ? `${already} already handled (--again sends them again)` : '',
    !includeContent && content.length > 0 ? `${content.length} left for correction` : '',
  ].filter(Boolean);
  console.log(`replayed ${sent} dead letter(s) from ${topic}${notes.length ? `; ${notes.join(', ')}` : ''}`);
  return 0;
}
