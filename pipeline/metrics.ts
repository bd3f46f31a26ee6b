/**
 * One metric family for every stage (label `stage`), in base units. A per-process Registry —
 * not prom-client's global one — so tests can run several workers in one process.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StageCounter, StageHistogram, StageMetrics } from './stage.js';

/** Names of the counters stages own: `eaio_<name>_total` (see StageMetrics). */
export const STAGE_COUNTER_PREFIX = 'eaio_';
export const STAGE_COUNTER_SUFFIX = '_total';
const STAGE_COUNTER_NAME = /^[a-z][a-z0-9_]*$/;

export class PipelineMetrics {
  readonly received: Counter<'stage'>;
  readonly sent: Counter<'stage'>;
  readonly skipped: Counter<'stage' | 'reason'>;
  readonly deadLettered: Counter<'stage' | 'code'>;
  readonly retries: Counter<'stage'>;
  readonly deferrals: Counter<'stage' | 'reason'>;
  readonly errors: Counter<'stage' | 'phase'>;
  readonly batchSize: Histogram<'stage'>;
  readonly batchDuration: Histogram<'stage'>;
  readonly eventLag: Histogram<'stage'>;
  readonly consumerLag: Gauge<'stage' | 'topic' | 'partition'>;
  readonly pausedSeconds: Counter<'stage'>;
  readonly assignedPartitions: Gauge<'stage'>;
  readonly commits: Counter<'stage'>;

  private constructor(readonly registry: Registry) {
    const registers = [registry];
    this.received = new Counter({
      name: 'pipeline_records_received_total',
      help: 'Records consumed from input topics.',
      labelNames: ['stage'],
      registers,
    });
    this.sent = new Counter({
      name: 'pipeline_records_sent_total',
      help: 'Output records acknowledged by the broker.',
      labelNames: ['stage'],
      registers,
    });
    this.skipped = new Counter({
      name: 'pipeline_records_skipped_total',
      help: 'Records intentionally skipped by a stage.',
      labelNames: ['stage', 'reason'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'pipeline_records_dead_lettered_total',
      help: 'Records sent to the dead-letter topic.',
      labelNames: ['stage', 'code'],
      registers,
    });
    this.retries = new Counter({
      name: 'pipeline_retries_total',
      help: 'Batch retries after a transient error.',
      labelNames: ['stage'],
      registers,
    });
    this.deferrals = new Counter({
      name: 'pipeline_deferrals_total',
      help: 'Batches handed in again later because a stage said not ready yet.',
      labelNames: ['stage', 'reason'],
      registers,
    });
    this.errors = new Counter({
      name: 'pipeline_errors_total',
      help: 'Errors by phase (decode, process, produce, commit, hook).',
      labelNames: ['stage', 'phase'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'pipeline_batch_size_records',
      help: 'Records per processed batch.',
      labelNames: ['stage'],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    });
    this.batchDuration = new Histogram({
      name: 'pipeline_batch_duration_seconds',
      help: 'Decode + process + acknowledged produce of one batch.',
      labelNames: ['stage'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.eventLag = new Histogram({
      name: 'pipeline_event_lag_seconds',
      help: 'Processing time minus event time of records.',
      labelNames: ['stage'],
      buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 86400],
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'pipeline_consumer_lag_records',
      help: 'Log end offset minus next offset to process.',
      labelNames: ['stage', 'topic', 'partition'],
      registers,
    });
    this.pausedSeconds = new Counter({
      name: 'pipeline_paused_seconds_total',
      help: 'Time partitions spent paused (retry backoff and deferrals).',
      labelNames: ['stage'],
      registers,
    });
    this.assignedPartitions = new Gauge({
      name: 'pipeline_assigned_partitions',
      help: 'Partitions currently assigned to this worker.',
      labelNames: ['stage'],
      registers,
    });
    this.commits = new Counter({
      name: 'pipeline_offset_commits_total',
      help: 'Offset commits to the consumer group.',
      labelNames: ['stage'],
      registers,
    });
  }

  private readonly stageCounters = new Map<string, { counter: Counter<string>; labelNames: readonly string[] }>();

  /** The facility a runner hands its stage as `ctx.metrics`, its counters labelled with `stage`. */
  stageMetrics(stage: string): StageMetrics {
    return {
      counter: <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) => {
        const counter = this.stageCounter(name, help, labelNames);
        const handle: StageCounter<L> = {
          inc: (value = 1, labels) => counter.inc({ ...labels, stage }, value),
        };
        return handle;
      },
      histogram: (name: string, help: string, buckets: readonly number[]) => {
        const histogram = this.stageHistogram(name, help, buckets);
        const handle: StageHistogram = { observe: (value) => histogram.observe({ stage }, value) };
        return handle;
      },
    };
  }

  private readonly stageHistograms = new Map<string, Histogram<'stage'>>();

  private stageHistogram(name: string, help: string, buckets: readonly number[]): Histogram<'stage'> {
    if (!STAGE_COUNTER_NAME.test(name) || name.endsWith(STAGE_COUNTER_SUFFIX))
      throw new Error(`stage histogram "${name}": use snake_case ending with its unit, without _total`);
    let histogram = this.stageHistograms.get(name);
    if (!histogram) {
      histogram = new Histogram({
        name: `${STAGE_COUNTER_PREFIX}${name}`,
        help,
        labelNames: ['stage'],
        buckets: [...buckets],
        registers: [this.registry],
      });
      this.stageHistograms.set(name, histogram);
    }
    return histogram;
  }

  private stageCounter(name: string, help: string, labelNames: readonly string[]): Counter<string> {
    if (!STAGE_COUNTER_NAME.test(name) || name.endsWith(STAGE_COUNTER_SUFFIX))
      throw new Error(`stage counter "${name}": use snake_case without the _total suffix`);
    if (labelNames.includes('stage') || labelNames.includes('pipeline'))
      throw new Error(`stage counter "${name}": the labels stage and pipeline are set by the runtime`);
    const known = this.stageCounters.get(name);
    if (known) {
      if (known.labelNames.join(',') !== labelNames.join(','))
        throw new Error(`stage counter "${name}" exists with the labels [${known.labelNames.join(', ')}]`);
      return known.counter;
    }
    const counter = new Counter({
      name: `${STAGE_COUNTER_PREFIX}${name}${STAGE_COUNTER_SUFFIX}`,
      help,
      labelNames: ['stage', ...labelNames],
      registers: [this.registry],
    });
    this.stageCounters.set(name, { counter, labelNames: [...labelNames] });
    return counter;
  }

  private static readonly byRegistry = new WeakMap<Registry, PipelineMetrics>();

  /** Several runners in one process share one registry and therefore one set of families. */
  static forRegistry(registry: Registry): PipelineMetrics {
    let metrics = PipelineMetrics.byRegistry.get(registry);
    if (!metrics) {
      metrics = new PipelineMetrics(registry);
      PipelineMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }
}

export function createRegistry(): Registry {
  return new Registry();
}
