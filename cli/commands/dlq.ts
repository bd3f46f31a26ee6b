import { parseArgs } from 'node:util';
import { loadEnv } from '../../config/load.js';
import { buildReplay, type DeadLetterView, readDeadLetter } from '../../pipeline/dlq.js';
import { kafkaBrokerFromEnv, loggerFromEnv, runnerOptionsFromEnv } from '../../pipeline/env.js';
import { deadLetterTopic } from '../../pipeline/topics.js';
import { type Command, UsageError } from '../command.js';

const usage = `Usage: eaio dlq <list|replay> <stage> [--code <code>] [--json] [--limit <n>]

  list     show the stage's dead letters: source topic/partition/offset, code, attempts, message
  replay   send the original key, value and headers back to their source topic
           (replaying twice sends them twice; stages and sinks are idempotent)

  --code   only dead letters with this error code
  --json   list as JSON lines
  --limit  list at most n (default 100; 0 = all)`;

function describe(view: DeadLetterView): string {
  return `${view.failedAt}  ${view.code.padEnd(18)} ${view.sourceTopic}:${view.sourcePartition}@${view.sourceOffset}  attempts=${view.attempts}  ${view.message}`;
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
      for (const record of shown) {
        const view = readDeadLetter(record);
        if (values.json) {
          const { key, value, ...rest } = view;
          console.log(
            JSON.stringify({ ...rest, key: key?.toString('utf8') ?? null, value: value?.toString('utf8') ?? null }),
          );
        } else console.log(describe(view));
      }
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
