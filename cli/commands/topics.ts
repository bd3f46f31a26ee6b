import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import { loadEnv } from '../../config/load.js';
import type { Env } from '../../config/schema.js';
import type { TopicSpec } from '../../pipeline/index.js';
import { kafkaBrokerFromEnv, loggerFromEnv } from '../../pipeline/index.js';
import { planTopics, stagePlan } from '../../stages/registry.js';
import { type Command, UsageError } from '../command.js';
import { resolveStageNames } from './run.js';

const usage = `Usage: eaio topics <create|list> [stage...|all] [--partitions <n>]
       eaio topics partitions <n> [stage...|all]

  create       create the input, output and dead-letter topics of the stages (default: all),
               with EAIO_TOPIC_PARTITIONS partitions (or --partitions) and EAIO_TOPIC_REPLICATION;
               existing topics are left as they are
  list         list the topics under EAIO_TOPIC_PREFIX
  partitions   give the stages' topics (default: all) <n> partitions: creates missing ones and
               raises existing ones that have fewer (Kafka cannot lower a topic's count)

The partition count caps how many workers of a stage share the work. Raising it moves keys:
a meter's new readings may go to another partition than its older ones, so per-meter order holds
only for records produced after the change. Restart the stages' workers afterwards
(docs/operations.md, "Scaling").

Topic names are versioned and prefixed: <EAIO_TOPIC_PREFIX>.<name>.v<N>, e.g. eaio.readings.raw.v1.`;

const positiveInteger = (text: string | undefined, what: string): number => {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer`);
  return n;
};

/** The distinct topics of the named stages (all when none), each with `partitions`. */
function plannedTopics(env: Env, names: readonly string[], partitions: number): TopicSpec[] {
  const naming = { prefix: env.EAIO_TOPIC_PREFIX };
  const specs = new Map<string, TopicSpec>();
  for (const name of resolveStageNames(names.length > 0 ? names : ['all'])) {
    for (const topic of planTopics(stagePlan(name, naming), naming))
      specs.set(topic, { topic, partitions, replicationFactor: env.EAIO_TOPIC_REPLICATION });
  }
  return [...specs.values()];
}

/**
 * Creates the missing topics with `partitions` and raises the existing ones below it; one line
 * per topic. Returns 1 when a topic has more partitions than asked (it is left as it is).
 */
async function setPartitions(env: Env, specs: readonly TopicSpec[], partitions: number): Promise<number> {
  // The runtime's admin port only creates topics; raising a count needs kafkajs's own admin.
  const kafka = new kafkajs.Kafka({
    clientId: `${env.KAFKA_CLIENT_ID}-topics`,
    brokers: env.KAFKA_BROKERS.split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: partitions,
          replicationFactor: s.replicationFactor,
        })),
      });
    }
    const present = specs.filter((s) => existing.has(s.topic)).map((s) => s.topic);
    const { topics } = present.length > 0 ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
    const counts = new Map(topics.map((t) => [t.name, t.partitions.length]));
    const raise = present.filter((topic) => (counts.get(topic) ?? 0) < partitions);
    if (raise.length > 0) {
      await admin.createPartitions({ topicPartitions: raise.map((topic) => ({ topic, count: partitions })) });
    }
    let tooMany = false;
    for (const { topic } of specs) {
      const before = counts.get(topic);
      if (before === undefined) console.log(`${topic}  created with partitions=${partitions}`);
      else if (before < partitions) console.log(`${topic}  partitions ${before} → ${partitions}`);
      else if (before === partitions) console.log(`${topic}  partitions=${partitions} (unchanged)`);
      else {
        tooMany = true;
        console.log(`${topic}  partitions=${before}, more than ${partitions}: left as it is (Kafka cannot lower it)`);
      }
    }
    if (raise.length > 0) {
      console.error(
        `raised ${raise.length} topic(s): keys now map to partitions differently, so per-meter order holds only for ` +
          'records produced from now on; restart the workers of these stages so they take the new partitions at once ' +
          '(docs/operations.md, "Scaling")',
      );
    }
    return tooMany ? 1 : 0;
  } finally {
    await admin.disconnect();
  }
}

export const topicsCommand: Command = {
  name: 'topics',
  summary: 'create, list or repartition the pipeline topics',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { partitions: { type: 'string' } },
    });
    const [action, ...names] = positionals;
    if (action !== 'list' && action !== 'create' && action !== 'partitions')
      throw new UsageError(action ? `unknown action "${action}"` : 'missing action');
    const env = loadEnv();
    // Before connecting: a usage mistake needs no broker.
    let partitions = env.EAIO_TOPIC_PARTITIONS;
    if (action === 'partitions') {
      if (values.partitions !== undefined) throw new UsageError('topics partitions takes the count as <n>');
      partitions = positiveInteger(names.shift(), 'topics partitions <n>');
    } else if (values.partitions !== undefined) partitions = positiveInteger(values.partitions, '--partitions');
    const specs = action === 'list' ? [] : plannedTopics(env, names, partitions);

    const log = loggerFromEnv({ LOG_LEVEL: 'warn' });
    const broker = kafkaBrokerFromEnv(env, log);
    await broker.probe();
    if (action === 'partitions') return setPartitions(env, specs, partitions);
    const admin = broker.admin();
    await admin.connect();
    try {
      if (action === 'list') {
        const prefix = env.EAIO_TOPIC_PREFIX ? `${env.EAIO_TOPIC_PREFIX}.` : '';
        for (const topic of (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort()) console.log(topic);
        return 0;
      }
      await admin.ensureTopics(specs);
      for (const spec of specs)
        console.log(`${spec.topic}  partitions=${spec.partitions} replication=${spec.replicationFactor}`);
      return 0;
    } finally {
      await admin.disconnect();
    }
  },
};
