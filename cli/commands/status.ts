import { parseArgs } from 'node:util';
import { loadEnv } from '../../config/load.js';
import {
  errorMessage,
  kafkaBrokerFromEnv,
  loggerFromEnv,
  physicalTopic,
  runnerOptionsFromEnv,
} from '../../pipeline/index.js';
import { branchStages, pipelineStages, stagePlan } from '../../stages/registry.js';
import { createPgClient } from '../../stages/shared/pg-client.js';
import { type Command, UsageError } from '../command.js';
import { pendingCount } from '../dlq-handled.js';
import { type SkipCounts, skipCounts } from '../skip-counts.js';
import { resolveStageNames } from './run.js';

const usage = `Usage: eaio status [stage...] [--json] [--skips-window <range>]

For every registered stage (or the named ones; a+b+c names a chain): consumer lag per input
partition (log end − committed offset), the group members and their assigned partitions, the
number of records in its DLQ and how many of them are pending (not replayed or exported by
\`eaio dlq\`, as recorded in PostgreSQL), and the records it skipped per reason (duplicates, ...) over the
last --skips-window (default 24h) as Prometheus scraped them from the workers (PROMETHEUS_URL).
The chain of all pipeline stages is listed too once it has run. A chain's dead letters are counted
in the DLQs of its stages, its skips under its own name.`;

interface PartitionStatus {
  topic: string;
  partition: number;
  end: string;
  committed: string;
  lag: number;
}

interface StageStatus {
  stage: string;
  group: string;
  lag: number;
  partitions: PartitionStatus[];
  members: { memberId: string; host: string; assigned: string[] }[];
  dlqTopic: string;
  dlqCount: number;
  /** Dead letters not replayed or exported yet; undefined when the database could not say. */
  dlqPending?: number;
  /** Skipped records per reason over the window; undefined when Prometheus could not say. */
  skipped?: Record<string, number>;
  error?: string;
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'show each stage’s consumer lag, assigned partitions and DLQ counts',
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        'skips-window': { type: 'string', default: '24h' },
      },
    });
    const window = values['skips-window'];
    if (!/^[0-9]+[smhdwy]$/.test(window))
      throw new UsageError('--skips-window takes a Prometheus range such as 1h or 7d');
    const named = positionals.length > 0;
    const names = named
      ? resolveStageNames(positionals)
      : [...pipelineStages(), pipelineStages().join('+'), ...branchStages()];
    const env = loadEnv();
    const naming = runnerOptionsFromEnv(env).naming;
    const broker = kafkaBrokerFromEnv(env, loggerFromEnv({ LOG_LEVEL: 'error' }));
    await broker.probe();
    const admin = broker.admin();
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const statuses: StageStatus[] = [];
    let skips: SkipCounts | undefined;
    let skipsProblem: string | undefined;
    let pendingProblem: string | undefined;
    const sql = createPgClient(env.DATABASE_URL, { max: 1, applicationName: 'eaio-status' });
    try {
      skips = await skipCounts({ prometheusUrl: env.PROMETHEUS_URL, window });
    } catch (error) {
      skipsProblem = errorMessage(error);
    }
    try {
      for (const name of names) {
        const plan = stagePlan(name, naming);
        const isChain = plan.steps.length > 1;
        const group = plan.group;
        const dlq = isChain ? '' : (plan.deadLetterTopics[0] as string);
        const status: StageStatus = {
          stage: plan.name,
          group,
          lag: 0,
          partitions: [],
          members: [],
          dlqTopic: dlq,
          dlqCount: 0,
          ...(skips ? { skipped: Object.fromEntries(skips.get(plan.name) ?? []) } : {}),
        };
        try {
          for (const topic of plan.inputs.map((t) => physicalTopic(naming, t)).filter((t) => existing.has(t))) {
            const [ends, committed] = await Promise.all([admin.topicOffsets(topic), admin.groupOffsets(group, topic)]);
            for (const end of ends) {
              const at = committed.find((c) => c.partition === end.partition)?.offset ?? '-1';
              const from = BigInt(at) < 0n ? BigInt(end.low) : BigInt(at);
              const lag = Number(BigInt(end.high) - from);
              status.lag += lag;
              status.partitions.push({ topic, partition: end.partition, end: end.high, committed: at, lag });
            }
          }
          status.members = (await admin.groupMembers(group)).map((m) => ({
            memberId: m.memberId,
            host: m.host,
            assigned: m.assignment.map((a) => `${a.topic}:${a.partition}`),
          }));
          if (dlq && existing.has(dlq)) {
            const ranges = await admin.topicOffsets(dlq);
            for (const p of ranges) status.dlqCount += Number(BigInt(p.high) - BigInt(p.low));
            if (!pendingProblem)
              status.dlqPending = await pendingCount(sql, dlq, ranges).catch((error: unknown) => {
                pendingProblem = errorMessage(error);
                return undefined;
              });
          } else if (dlq) {
            status.dlqPending = 0;
          }
        } catch (error) {
          status.error = errorMessage(error);
        }
        const neverRan = status.members.length === 0 && status.partitions.every((p) => BigInt(p.committed) < 0n);
        if (isChain && !named && neverRan) continue;
        statuses.push(status);
      }
    } finally {
      await admin.disconnect();
      await sql.end({ timeout: 5 });
    }
    if (values.json) {
      console.log(JSON.stringify(statuses, null, 2));
      return 0;
    }
    if (skipsProblem) console.log(`skips unknown: ${skipsProblem}`);
    if (pendingProblem) console.log(`dlq pending unknown: ${pendingProblem}`);
    for (const s of statuses) {
      const skipped = s.skipped ? Object.values(s.skipped).reduce((a, b) => a + b, 0) : undefined;
      const reasons =
        s.skipped && skipped
          ? ` (${Object.entries(s.skipped)
              .map(([r, n]) => `${r}=${n}`)
              .join(' ')})`
          : '';
      console.log(
        `${s.stage.padEnd(16)} lag=${s.lag} members=${s.members.length} dlq=${s.dlqCount}${s.dlqTopic ? ` dlq_pending=${s.dlqPending ?? '?'}` : ''} skipped_${window}=${skipped ?? '?'}${reasons}${s.error ? ` error=${s.error}` : ''}`,
      );
      for (const p of s.partitions)
        console.log(`  ${p.topic}:${p.partition}  end=${p.end} committed=${p.committed} lag=${p.lag}`);
      for (const m of s.members) console.log(`  member ${m.memberId} (${m.host}): ${m.assigned.join(' ') || '-'}`);
    }
    return 0;
  },
};
