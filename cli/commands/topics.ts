import { parseArgs } from 'node:util';
import { loadEnv } from '../../config/load.js';
import type { TopicSpec } from '../../pipeline/index.js';
import { kafkaBrokerFromEnv, loggerFromEnv } from '../../pipeline/index.js';
import { planTopics, stagePlan } from '../../stages/registry.js';
import { type Command, UsageError } from '../command.js';
import { resolveStageNames } from './run.js';

const usage = `Usage: eaio topics <create|list> [stage...|all] [--partitions <n>]

  create   create the input, output and dead-letter topics of the stages (default: all),
           with EAIO_TOPIC_PARTITIONS partitions (or --partitions) and EAIO_TOPIC_REPLICATION
  list     list the topics under EAIO_TOPIC_PREFIX

Topic names are versioned and prefixed: <EAIO_TOPIC_PREFIX>.<name>.v<N>, e.g. eaio.readings.raw.v1.`;

export const topicsCommand: Command = {
  name: 'topics',
  summary: 'create or list the pipeline topics',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { partitions: { type: 'string' } },
    });
    const [action, ...names] = positionals;
    const env = loadEnv();
    const log = loggerFromEnv({ LOG_LEVEL: 'warn' });
    const broker = kafkaBrokerFromEnv(env, log);
    await broker.probe();
    const admin = broker.admin();
    await admin.connect();
    try {
      if (action === 'list') {
        const prefix = env.EAIO_TOPIC_PREFIX ? `${env.EAIO_TOPIC_PREFIX}.` : '';
        for (const topic of (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort()) console.log(topic);
        return 0;
      }
      if (action !== 'create') throw new UsageError(action ? `unknown action "${action}"` : 'missing action');
      const partitions = values.partitions === undefined ? env.EAIO_TOPIC_PARTITIONS : Number(values.partitions);
      if (!Number.isInteger(partitions) || partitions < 1)
        throw new UsageError('--partitions must be a positive integer');
      const naming = { prefix: env.EAIO_TOPIC_PREFIX };
      const specs = new Map<string, TopicSpec>();
      for (const name of resolveStageNames(names.length > 0 ? names : ['all'])) {
        for (const topic of planTopics(stagePlan(name, naming), naming))
          specs.set(topic, { topic, partitions, replicationFactor: env.EAIO_TOPIC_REPLICATION });
      }
      await admin.ensureTopics([...specs.values()]);
      for (const spec of specs.values())
        console.log(`${spec.topic}  partitions=${spec.partitions} replication=${spec.replicationFactor}`);
      return 0;
    } finally {
      await admin.disconnect();
    }
  },
};
