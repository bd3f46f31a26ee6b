import { parseArgs } from 'node:util';
import { loadEnv } from '../../config/load.js';
import { type Command, UsageError } from '../command.js';
import { embedBenchUsage, ingestUsage, rollupsUsage, scoreUsage, stateRebuildUsage } from './bench-usage.js';

const runtimeUsage = `Usage: eaio bench runtime [--records <n>] [--partitions <n>] [--value-bytes <n>] [--client kafkajs|platformatic|all] [--json]

Runs on the real broker (KAFKA_BROKERS), on throw-away topics: a raw kafkajs consume, the runtime
with the passthrough stage, and a hand-written raw kafkajs consume → produce with the same producer
settings (idempotent, acks=all), plus the runtime with a sink stage that produces nothing (its
consume-side cost next to the raw consume). Prints records/s and p50/p99 batch latency; the ratio of the
runtime to the raw consume+produce is the runtime's overhead (target ≥ 80 %). The runtime runs are
measured with each Kafka client --client names (default all: kafkajs and platformatic, side by side;
platformatic needs Node 22.22+/24.6+).`;

const usage = `Usage: eaio bench <runtime|ingest|score|state-rebuild|rollups|embed> [options]    (npm run bench:runtime, npm run bench:ingest)

${runtimeUsage}

${ingestUsage}

${stateRebuildUsage}

${rollupsUsage}

${scoreUsage}

${embedBenchUsage}`;

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmarks: runtime (vs raw kafkajs), ingest (pipeline vs COPY), score, state-rebuild, rollups, embed',
  usage,
  async run(argv) {
    // The benchmarks load only here: `eaio --help` lists this command without loading them.
    if (argv[0] === 'ingest') return (await import('../../bench/ingest.js')).runIngestCli(argv.slice(1));
    if (argv[0] === 'state-rebuild')
      return (await import('../../bench/state-rebuild.js')).runStateRebuildCli(argv.slice(1));
    if (argv[0] === 'score') return (await import('../../bench/score.js')).runScoreBenchCli(argv.slice(1));
    if (argv[0] === 'rollups') return (await import('../../bench/rollups.js')).runRollupBenchCli(argv.slice(1));
    if (argv[0] === 'embed') return (await import('../../bench/embed.js')).runEmbedBenchCli(argv.slice(1));
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        records: { type: 'string', default: '200000' },
        partitions: { type: 'string', default: '6' },
        'value-bytes': { type: 'string', default: '200' },
        client: { type: 'string', default: 'all' },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals[0] !== 'runtime')
      throw new UsageError(
        positionals[0]
          ? `unknown benchmark "${positionals[0]}"`
          : 'name a benchmark: runtime, ingest, score, state-rebuild, rollups or embed',
      );
    const clients =
      values.client === 'all'
        ? (['kafkajs', 'platformatic'] as const)
        : ([values.client] as ['kafkajs' | 'platformatic']);
    if (!clients.every((c) => c === 'kafkajs' || c === 'platformatic'))
      throw new UsageError(`--client must be kafkajs, platformatic or all, not "${values.client}"`);
    const env = loadEnv();
    const { renderBench, runRuntimeBench } = await import('../../bench/runtime.js');
    const figures = await runRuntimeBench({
      brokers: env.KAFKA_BROKERS.split(','),
      records: Number(values.records),
      partitions: Number(values.partitions),
      valueBytes: Number(values['value-bytes']),
      clients,
    });
    console.log(values.json ? JSON.stringify(figures, null, 2) : renderBench(figures));
    return 0;
  },
};
