import { parseArgs } from 'node:util';
import { loadEnv } from '../../config/load.js';
import {
  buildReplay,
  type DeadLetterView,
  deadLetterTopic,
  kafkaBrokerFromEnv,
  loggerFromEnv,
  RUNTIME_DEAD_LETTER_CODES,
  readDeadLetter,
  runnerOptionsFromEnv,
} from '../../pipeline/index.js';
import { stageDescriptors } from '../../stages/registry.js';
import { type Command, UsageError } from '../command.js';

const usage = `Usage: eaio dlq <list|replay> <stage> [--code <code>] [--json] [--limit <n>]

  list     show the stage's dead letters: source topic/partition/offset, code, attempts, message
  replay   send the original key, value and headers back to their source topic
           (replaying twice sends them twice; stages and sinks are idempotent)

  --code   only dead letters with this error code
  --json   list as JSON lines
  --limit  list at most n (default 100; 0 = all)`;

/** Every dead-letter code the runtime and the registered stages can give (docs/messages.md explains each). */
export const knownDeadLetterCodes = (): string[] => [
  ...new Set([...RUNTIME_DEAD_LETTER_CODES, ...stageDescriptors.flatMap((d) => d.codes?.deadLetterCodes ?? [])]),
];

const widest = (texts: readonly string[]): number => texts.reduce((most, t) => Math.max(most, t.length), 0);

/**
 * One line per dead letter, in aligned columns: the code column is as wide as the longest known
 * code (or a longer one shown, e.g. from another version), the source as the longest shown.
 */
export function describeDeadLetters(views: readonly DeadLetterView[]): string[] {
  const source = (v: DeadLetterView) => `${v.sourceTopic}:${v.sourcePartition}@${v.sourceOffset}`;
  const codeWidth = widest([...knownDeadLetterCodes(), ...views.map((v) => v.code)]);
  const sourceWidth = widest(views.map(source));
  const timeWidth = widest(views.map((v) => v.failedAt));
  return views.map(
    (v) =>
      `${v.failedAt.padEnd(timeWidth)}  ${v.code.padEnd(codeWidth)}  ${source(v).padEnd(sourceWidth)}  attempts=${v.attempts}  ${v.message}`,
  );
}

export const dlqCommand: Command = {
  name: 'dlq',
  summary: 'list or replay a stage’s dead letters',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        code: { type: 'string' },
        json: { type: 'boolean', default: false },
        limit: { type: 'string', default: '100' },
      },
    });
    const [action, stage] = positionals;
    if (action !== 'list' && action !== 'replay')
      throw new UsageError(action ? `unknown action "${action}"` : 'missing action');
    if (!stage) throw new UsageError('missing stage name');
    const env = loadEnv();
    const broker = kafkaBrokerFromEnv(env, loggerFromEnv({ LOG_LEVEL: 'error' }));
    const topic = deadLetterTopic(runnerOptionsFromEnv(env).naming, stage);
    await broker.probe();
    const admin = broker.admin();
    await admin.connect();
    const exists = (await admin.listTopics()).includes(topic);
    await admin.disconnect();
    if (!exists) {
      console.error(`no dead-letter topic ${topic}`);
      return 1;
    }
    const records = (await broker.readTopic(topic)).filter(
      (r) => values.code === undefined || readDeadLetter(r).code === values.code,
    );
    if (action === 'list') {
      const limit = Number(values.limit);
      const shown = limit > 0 ? records.slice(0, limit) : records;
      const views = shown.map((record) => readDeadLetter(record));
      if (values.json)
        for (const { key, value, ...rest } of views)
          console.log(
            JSON.stringify({ ...rest, key: key?.toString('utf8') ?? null, value: value?.toString('utf8') ?? null }),
          );
      else for (const line of describeDeadLetters(views)) console.log(line);
      if (!values.json)
        console.log(
          `${records.length} dead letter(s) in ${topic}${shown.length < records.length ? ` (${shown.length} shown)` : ''}`,
        );
      return 0;
    }
    const producer = broker.producer();
    await producer.connect();
    try {
      const replays = records.map((r) => buildReplay(r));
      for (let i = 0; i < replays.length; i += 500) await producer.send(replays.slice(i, i + 500));
      console.log(`replayed ${replays.length} dead letter(s) from ${topic}`);
    } finally {
      await producer.disconnect();
    }
    return 0;
  },
};
