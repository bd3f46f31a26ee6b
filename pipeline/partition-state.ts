/**
 * State owned by partitions, and event time (docs/stage-spec.md §13). A stage that keeps per-key
 * state (a meter's recent readings, its open local days) keeps it per input partition: a key lives
 * on one partition, so the member holding the partition holds all of the key's state.
 *
 * - `PartitionStateStore`: built for the partitions a member is assigned (one bounded load for all
 *   of them, from the stage's own store) before any of their records reaches `process` (the runner
 *   gates on `onPartitionsAssigned`), dropped on revocation.
 * - `EventClock`: per-record watermarks (largest event time of the partition so far, minus the
 *   allowed lateness) from the runner's per-partition event time, so windows close on event time
 *   and a replay, whatever its chunking, sees the same watermark at the same record.
 */
import { TransientError } from './errors.js';
import { partitionForKey } from './murmur2.js';
import type { Envelope, StageContext, TopicPartition } from './stage.js';

const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

export interface LoadedPartition<S> extends TopicPartition {
  readonly state: S;
  /** Largest event time the loaded state holds: the partition's event time resumes from it. */
  readonly maxEventTime?: number;
}

export interface PartitionStateOptions<S> {
  /**
   * Builds the state of these partitions, ideally with one bounded query for all of them. The
   * source must hold every record processed before the partition's resume position (see the spec).
   * Partitions it returns nothing for start from `empty`.
   */
  load(partitions: readonly TopicPartition[], ctx: StageContext): Promise<Iterable<LoadedPartition<S>>>;
  empty(partition: TopicPartition): S;
  /** Items held in one partition's state, for the log line (e.g. readings). */
  size?(state: S): number;
  /** Errors of `load` worth trying again (besides TransientError); a rebuild is retried briefly. */
  isTransient?(error: unknown): boolean;
  /** Attempts of one load (default 3, 250 ms then 500 ms apart): kafkajs waits for it without heartbeats. */
  attempts?: number;
}

export class PartitionStateStore<S> {
  private readonly states = new Map<string, S>();
  /** Duration and size of the last rebuild, for tests and benchmarks. */
  lastBuild: { readonly partitions: number; readonly items: number; readonly ms: number } | undefined;

  constructor(private readonly options: PartitionStateOptions<S>) {}

  /** Call from `onPartitionsAssigned`: loads the partitions' state and restores their event time. */
  async assign(partitions: readonly TopicPartition[], ctx: StageContext): Promise<void> {
    if (partitions.length === 0) return;
    const started = performance.now();
    const loaded = new Map<string, LoadedPartition<S>>();
    for (const item of await this.loadWithRetry(partitions, ctx)) loaded.set(tpKey(item), item);
    let items = 0;
    for (const tp of partitions) {
      const found = loaded.get(tpKey(tp));
      const state = found ? found.state : this.options.empty(tp);
      this.states.set(tpKey(tp), state);
      if (found?.maxEventTime !== undefined) ctx.eventTime?.restore(tp, found.maxEventTime);
      items += this.options.size?.(state) ?? 0;
    }
    const ms = Math.round(performance.now() - started);
    this.lastBuild = { partitions: partitions.length, items, ms };
    ctx.log.info({ partitions: partitions.length, items, ms }, 'partition state built');
  }

  /** Call from `onPartitionsRevoked`: the next owner rebuilds it from the store. */
  revoke(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.states.delete(tpKey(tp));
  }

  /** The state of an assigned partition (the runner processes no record of any other). */
  get(partition: TopicPartition): S {
    const state = this.states.get(tpKey(partition));
    if (state === undefined)
      throw new Error(`no state for ${partition.topic}:${partition.partition}: the partition is not assigned here`);
    return state;
  }

  has(partition: TopicPartition): boolean {
    return this.states.has(tpKey(partition));
  }

  get partitions(): number {
    return this.states.size;
  }

  private async loadWithRetry(
    partitions: readonly TopicPartition[],
    ctx: StageContext,
  ): Promise<Iterable<LoadedPartition<S>>> {
    const attempts = Math.max(1, this.options.attempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.options.load(partitions, ctx);
      } catch (error) {
        const transient = error instanceof TransientError || this.options.isTransient?.(error) === true;
        if (!transient || attempt >= attempts || ctx.signal.aborted) throw error;
        ctx.log.warn({ attempt, err: (error as Error).message }, 'partition state load failed, trying again');
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (attempt - 1)));
      }
    }
  }
}

/**
 * Per-record watermarks for one `process` call. Advance it with every envelope, in order (also
 * those the stage skips); each partition starts from the runner's event time before the call.
 * Deterministic: the watermark at a record depends only on the partition's records before it in
 * this assignment (and the restored event time), not on how they were cut into calls.
 */
export class EventClock {
  private readonly max = new Map<string, number>();

  constructor(
    private readonly ctx: StageContext,
    readonly allowedLatenessMs: number,
  ) {}

  /** Watermark of the partition before the records advanced so far; -Infinity before any event time. */
  watermark(partition: TopicPartition): number {
    return this.maxOf(partition) - this.allowedLatenessMs;
  }

  /** True when the record's event time is below its partition's watermark (before this record). */
  isLate(envelope: Envelope<unknown>): boolean {
    return envelope.eventTime !== undefined && envelope.eventTime < this.watermark(envelope.raw);
  }

  /** Counts the record's event time and returns its partition's watermark after it. */
  advance(envelope: Envelope<unknown>): number {
    const max = this.maxOf(envelope.raw);
    const eventTime = envelope.eventTime;
    if (eventTime !== undefined && eventTime > max) this.max.set(tpKey(envelope.raw), eventTime);
    return this.watermark(envelope.raw);
  }

  private maxOf(partition: TopicPartition): number {
    const known = this.max.get(tpKey(partition));
    if (known !== undefined) return known;
    const start = this.ctx.eventTime?.maxEventTime(partition) ?? Number.NEGATIVE_INFINITY;
    this.max.set(tpKey(partition), start);
    return start;
  }
}

/**
 * The keys (e.g. meter ids) that Kafka's default partitioner puts on these partitions of a topic
 * with `partitionCount` partitions: what a loader selects from a table keyed by meter.
 */
export function keysOnPartitions(
  keys: Iterable<string>,
  partitions: readonly number[],
  partitionCount: number,
): string[] {
  const wanted = new Set(partitions);
  const out: string[] = [];
  for (const key of keys) if (wanted.has(partitionForKey(Buffer.from(key), partitionCount))) out.push(key);
  return out;
}
