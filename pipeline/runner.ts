/**
 * Runs one stage on one consumer group member: owns partition state, retries with the partition
 * paused, commits the contiguous finished watermark, handles assignment/revocation and shutdown.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Broker, ConsumerPort, FetchedBatch, ProducerPort } from './broker.js';
import { DlqGuard, type DlqGuardLimits, defaultDlqGuardLimits } from './dlq.js';
import { defaultClassify, type ErrorDisposition, errorMessage, FatalError } from './errors.js';
import { PipelineMetrics } from './metrics.js';
import { OffsetTracker } from './offsets.js';
import { outputsByName, outputTopics } from './outputs.js';
import {
  type ChunkEnv,
  type ChunkFailure,
  deliverChunks,
  type PreparedChunk,
  prepareChunk,
} from './partition-worker.js';
import { backoffDelayMs, defaultRetryPolicy, RetryBudget, type RetryPolicy } from './retry.js';
import type { RawRecord, Stage, StageContext, StoredOffset, TopicPartition } from './stage.js';
import { consumerGroup, deadLetterTopic, physicalTopic, type TopicNaming, type TopicSpec } from './topics.js';

export interface RunnerOptions {
  readonly naming: TopicNaming;
  /** Partitions and replication of topics the runner creates (input, output, DLQ). */
  readonly topicPartitions?: number;
  readonly topicReplication?: number;
  /** Create missing topics on start (default true). */
  readonly createTopics?: boolean;
  readonly retry?: RetryPolicy;
  readonly dlqGuard?: DlqGuardLimits;
  /** Least time between two commits of the same worker; revoke and shutdown always commit. */
  readonly commitIntervalMs?: number;
  /** Randomness of the backoff jitter (tests pin it). */
  readonly random?: () => number;
}

export interface RunnerDeps {
  readonly broker: Broker;
  readonly log: Logger;
  readonly registry: Registry;
  /** Shared by all runners of a process (one idempotent producer per process is enough). */
  readonly producer?: ProducerPort;
}

interface PartitionState {
  readonly tp: TopicPartition;
  readonly tracker: OffsetTracker;
  readonly budget: RetryBudget;
  /** For sinks with their own offsets: the stored offset has been applied. */
  seeked: boolean;
  /** Highest offset counted as received, so re-runs (retry, defer) are not counted twice. */
  receivedThrough: bigint;
  pausedAt?: number;
  resumeTimer?: NodeJS.Timeout;
  /** The stage's `onPartitionsAssigned` for this assignment; no record is processed before it settles. */
  ready?: Promise<boolean>;
  /** The stage's assignment hook ran for this partition (see runAssignedHook). */
  assignedHookDone: boolean;
  /** Largest event time of the records processed in this assignment (or restored by the stage). */
  maxEventTime?: number;
}

const tpKey = (tp: TopicPartition): string => `${tp.topic}:${tp.partition}`;

export type RunnerStatus = 'created' | 'running' | 'stopping' | 'stopped';

export class StageRunner<In, Out> {
  readonly groupId: string;
  readonly inputTopics: readonly string[];
  readonly dlqTopic: string;
  private readonly consumer: ConsumerPort;
  private readonly producer: ProducerPort;
  private readonly ownsProducer: boolean;
  private readonly metrics: PipelineMetrics;
  private readonly log: Logger;
  private readonly ctx: StageContext;
  private readonly abort = new AbortController();
  private readonly partitions = new Map<string, PartitionState>();
  private readonly env: ChunkEnv<In, Out>;
  private readonly retryPolicy: RetryPolicy;
  private lastCommitAt = 0;
  private received = 0;
  /** A throttled commit scheduled for the end of the interval, so the last batch is committed too. */
  private commitTimer: NodeJS.Timeout | undefined;
  private commitChain: Promise<void> = Promise.resolve();
  private status: RunnerStatus = 'created';
  private joined = false;
  private fatalError: Error | undefined;
  private stopPromise: Promise<void> | undefined;
  private resolveFinished!: () => void;
  /** Resolves once the runner stopped, gracefully or after a fatal error (see `fatal`). */
  readonly finished: Promise<void>;

  constructor(
    readonly stage: Stage<In, Out>,
    private readonly deps: RunnerDeps,
    private readonly options: RunnerOptions,
  ) {
    this.groupId = consumerGroup(options.naming, stage.name);
    this.inputTopics = stage.inputs.map((t) => physicalTopic(options.naming, t));
    this.dlqTopic = deadLetterTopic(options.naming, stage.deadLetterStages?.[0] ?? stage.name);
    this.log = deps.log.child({ stage: stage.name });
    this.metrics = PipelineMetrics.forRegistry(deps.registry);
    this.consumer = deps.broker.consumer({ groupId: this.groupId });
    this.ownsProducer = deps.producer === undefined;
    this.producer = deps.producer ?? deps.broker.producer();
    this.retryPolicy = options.retry ?? defaultRetryPolicy;
    this.ctx = {
      stage: stage.name,
      log: this.log,
      signal: this.abort.signal,
      eventTime: {
        maxEventTime: (tp) => this.partitions.get(tpKey(tp))?.maxEventTime,
        restore: (tp, eventTime) => {
          const state = this.partitions.get(tpKey(tp));
          if (state && Number.isFinite(eventTime))
            state.maxEventTime = Math.max(state.maxEventTime ?? eventTime, eventTime);
        },
      },
      retryingPartitions: () => [...this.partitions.values()].filter((s) => s.budget.attempts > 0).map((s) => s.tp),
      metrics: this.metrics.stageMetrics(stage.name),
    };
    this.env = {
      stage,
      ctx: this.ctx,
      producer: this.producer,
      naming: options.naming,
      outputs: outputsByName(stage),
      dlqTopic: this.dlqTopic,
      dlqStage: stage.deadLetterStages?.[0] ?? stage.name,
      guard: new DlqGuard(options.dlqGuard ?? defaultDlqGuardLimits),
      metrics: this.metrics,
      log: this.log,
    };
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
  }

  get fatal(): Error | undefined {
    return this.fatalError;
  }

  get state(): RunnerStatus {
    return this.status;
  }

  /** Connected, joined the group and holding at least one partition. */
  isReady(): boolean {
    return this.status === 'running' && this.joined && this.partitions.size > 0;
  }

  assignedPartitions(): TopicPartition[] {
    return [...this.partitions.values()].map((s) => s.tp);
  }

  /** Topics this stage needs: inputs, outputs and its dead-letter topic. */
  topicSpecs(): TopicSpec[] {
    const partitions = this.options.topicPartitions ?? 6;
    const replicationFactor = this.options.topicReplication ?? 1;
    const dlqTopics = (this.stage.deadLetterStages ?? [this.stage.name]).map((s) =>
      deadLetterTopic(this.options.naming, s),
    );
    const names = new Set([...this.inputTopics, ...dlqTopics]);
    for (const topic of outputTopics(this.stage)) names.add(physicalTopic(this.options.naming, topic));
    return [...names].map((topic) => ({ topic, partitions, replicationFactor }));
  }

  async start(): Promise<void> {
    if (this.status !== 'created') throw new Error('a runner starts once');
    this.status = 'running';
    if (this.options.createTopics ?? true) {
      const admin = this.deps.broker.admin();
      await admin.connect();
      try {
        await admin.ensureTopics(this.topicSpecs());
      } finally {
        await admin.disconnect();
      }
    }
    await this.stage.init?.(this.ctx);
    if (this.ownsProducer) await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe(this.inputTopics);
    await this.consumer.run({
      onBatch: (batch) => this.handleBatch(batch),
      onAssigned: (tps) => this.handleAssigned(tps),
      onRevoked: (tps) => this.handleRevoked(tps),
      onRebalancing: () => this.commit(true),
      onCrash: (error) => this.failFatal(error),
    });
    this.log.info({ group: this.groupId, inputs: this.inputTopics }, 'stage started');
  }

  /** Stops fetching, drains in-flight batches, commits finished work and closes. Idempotent. */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.status = 'stopping';
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    for (const state of this.partitions.values()) this.clearPause(state);
    try {
      await this.consumer.stop(() => this.commit(true));
    } catch (error) {
      this.log.error({ err: errorMessage(error) }, 'consumer stop failed');
    }
    this.abort.abort();
    await this.consumer.disconnect().catch(() => undefined);
    if (this.ownsProducer) await this.producer.disconnect().catch(() => undefined);
    await this.stage.close?.().catch((error: unknown) => {
      this.metrics.errors.inc({ stage: this.stage.name, phase: 'hook' });
      this.log.error({ err: errorMessage(error) }, 'stage close failed');
    });
    this.metrics.assignedPartitions.set({ stage: this.stage.name }, 0);
    this.status = 'stopped';
    this.log.info({ fatal: this.fatalError?.message }, 'stage stopped');
    this.resolveFinished();
  }

  /** Marks the runner failed and stops it without committing past the failure. */
  private failFatal(error: unknown): void {
    if (this.fatalError) return;
    this.fatalError = error instanceof Error ? error : new Error(String(error));
    this.log.fatal({ err: this.fatalError.message, code: (error as { code?: string }).code }, 'fatal error, stopping');
    // Not awaited: stop() waits for in-flight handlers, and this may be called from one.
    void this.stop();
  }

  private partitionState(tp: TopicPartition): PartitionState {
    const key = tpKey(tp);
    let state = this.partitions.get(key);
    if (!state) {
      state = {
        tp: { topic: tp.topic, partition: tp.partition },
        tracker: new OffsetTracker(),
        budget: new RetryBudget(this.retryPolicy),
        seeked: this.stage.loadStoredOffsets === undefined,
        assignedHookDone: true,
        receivedThrough: -1n,
      };
      this.partitions.set(key, state);
      this.metrics.assignedPartitions.set({ stage: this.stage.name }, this.partitions.size);
    }
    return state;
  }

  private async handleAssigned(tps: readonly TopicPartition[]): Promise<void> {
    this.joined = true;
    const states = tps.map((tp) => this.partitionState(tp));
    this.log.info({ partitions: tps.map(tpKey) }, 'partitions assigned');
    // Batches wait for it in handleBatch: the broker adapters need not await this handler.
    const ready = this.runAssignedHook(tps);
    for (const state of states) state.ready = ready;
    await ready;
  }

  /** The partitions are already gone (the revoke commit happened in onRebalancing): drop state only. */
  private async handleRevoked(tps: readonly TopicPartition[]): Promise<void> {
    for (const tp of tps) {
      const state = this.partitions.get(tpKey(tp));
      if (state) {
        // kafkajs keeps a partition paused across rebalances: one paused for a retry or a defer
        // and assigned again (say after a member was evicted mid-backoff) would never be fetched.
        if (state.pausedAt !== undefined && this.status === 'running') this.consumer.resume(state.tp);
        this.clearPause(state);
      }
      this.partitions.delete(tpKey(tp));
      this.metrics.consumerLag.remove({ stage: this.stage.name, topic: tp.topic, partition: String(tp.partition) });
    }
    this.metrics.assignedPartitions.set({ stage: this.stage.name }, this.partitions.size);
    this.log.info({ partitions: tps.map(tpKey) }, 'partitions revoked');
    await this.runHook(() => this.stage.onPartitionsRevoked?.(tps, this.ctx));
  }

  /**
   * The stage's assignment hook (e.g. building partition-owned state). True when done; false when
   * it failed transiently (a store briefly down): each partition's first batch then runs it again
   * for its partition, paused and retried with backoff like a batch, before any record.
   */
  private async runAssignedHook(tps: readonly TopicPartition[]): Promise<boolean> {
    try {
      await this.stage.onPartitionsAssigned?.(tps, this.ctx);
      return true;
    } catch (error) {
      this.metrics.errors.inc({ stage: this.stage.name, phase: 'hook' });
      if (this.classify(error) !== 'retry') {
        this.failFatal(error);
        return true;
      }
      this.log.warn({ err: errorMessage(error) }, 'partition assignment hook failed, retrying per partition');
      return false;
    }
  }

  private async runHook(hook: () => Promise<void> | undefined): Promise<void> {
    try {
      await hook();
    } catch (error) {
      this.metrics.errors.inc({ stage: this.stage.name, phase: 'hook' });
      this.failFatal(error);
    }
  }

  /**
   * Sinks that keep offsets in their own store: on the first batch after assignment, ask the
   * stage where to resume. Done inside the batch handler (awaited, unlike kafkajs events), so no
   * record is processed before the position is known.
   * - Stored offset behind the group's position (the store lost rows, e.g. restored from a
   *   backup): seek back to it and write again.
   * - Stored offset ahead of a committed group position (a crash between the sink's transaction
   *   and the group commit): stay at the group's position. The sink may already hold those rows,
   *   but their dead letters may not have been acknowledged yet; replaying the gap re-sends them
   *   and the idempotent sink absorbs the rows again. Skipping ahead could lose a dead letter.
   * - Stored offset ahead and no committed group position (group offsets expired or deleted):
   *   seek forward to the stored offset.
   */
  private async applyStoredOffset(state: PartitionState, batch: FetchedBatch): Promise<boolean> {
    const stored: readonly StoredOffset[] = (await this.stage.loadStoredOffsets?.([state.tp], this.ctx)) ?? [];
    const mine = stored.find((s) => s.topic === state.tp.topic && s.partition === state.tp.partition);
    const first = batch.records[0]?.offset;
    // Marked seeked only once decided: a failure on the way (store or admin call) asks again.
    if (!mine || first === undefined || BigInt(mine.offset) === BigInt(first)) {
      state.seeked = true;
      return false;
    }
    if (BigInt(mine.offset) > BigInt(first) && (await this.committedPosition(state.tp)) !== undefined) {
      this.log.info(
        { partition: tpKey(state.tp), from: first, stored: mine.offset },
        'replaying from the group position up to the stored offset',
      );
      state.seeked = true;
      return false;
    }
    this.log.info({ partition: tpKey(state.tp), from: first, to: mine.offset }, 'seeking to stored offset');
    this.consumer.seek(mine);
    state.seeked = true;
    return true;
  }

  /** The group's committed offset for a partition, if it has one. */
  private async committedPosition(tp: TopicPartition): Promise<bigint | undefined> {
    const admin = this.deps.broker.admin();
    await admin.connect();
    try {
      const offsets = await admin.groupOffsets(this.groupId, tp.topic);
      const committed = offsets.find((o) => o.partition === tp.partition)?.offset;
      return committed !== undefined && BigInt(committed) >= 0n ? BigInt(committed) : undefined;
    } finally {
      await admin.disconnect();
    }
  }

  private async handleBatch(batch: FetchedBatch): Promise<void> {
    if (this.fatalError || this.status !== 'running' || batch.records.length === 0) return;
    const state = this.partitionState(batch);
    if (state.ready) {
      state.assignedHookDone = await state.ready;
      state.ready = undefined;
      if (this.fatalError || this.status !== 'running' || this.partitions.get(tpKey(state.tp)) !== state) return;
    }
    if (state.pausedAt !== undefined) return;
    if (!state.assignedHookDone) {
      try {
        await this.stage.onPartitionsAssigned?.([state.tp], this.ctx);
        state.assignedHookDone = true;
      } catch (error) {
        this.metrics.errors.inc({ stage: this.stage.name, phase: 'hook' });
        if (this.classify(error) === 'retry') return this.scheduleRetry(state, error, batch.records.length);
        return this.failFatal(error);
      }
    }
    if (!state.seeked) {
      try {
        if (await this.applyStoredOffset(state, batch)) return;
      } catch (error) {
        this.metrics.errors.inc({ stage: this.stage.name, phase: 'hook' });
        // The store being briefly unreachable (a database restart) is retried like a batch: the
        // partition stays unseeked and paused, and the same records come back after the backoff.
        if (this.classify(error) === 'retry') return this.scheduleRetry(state, error, batch.records.length);
        return this.failFatal(error);
      }
    }
    const stageName = this.stage.name;
    const last = batch.records[batch.records.length - 1] as RawRecord;
    this.metrics.consumerLag.set(
      { stage: stageName, topic: batch.topic, partition: String(batch.partition) },
      Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n)),
    );
    const max = Math.max(1, this.stage.batch.maxRecords);
    const startedAt = performance.now();
    const prepared: PreparedChunk[] = [];
    let failure: ChunkFailure | undefined;
    // Chunks that are not delivered run again: their event times must not count before that.
    const eventTimeBefore = state.maxEventTime;
    for (let start = 0; start < batch.records.length; start += max) {
      if (
        this.fatalError ||
        this.status !== 'running' ||
        batch.isStale() ||
        this.partitions.get(tpKey(state.tp)) !== state
      )
        break;
      const chunk = batch.records.slice(start, start + max);
      state.tracker.track(chunk.map((r) => BigInt(r.offset)));
      // Offsets rise within a chunk: only a re-run chunk (retry, defer) needs the per-record check.
      const fresh =
        BigInt((chunk[0] as RawRecord).offset) > state.receivedThrough
          ? chunk.length
          : chunk.filter((r) => BigInt(r.offset) > state.receivedThrough).length;
      if (fresh > 0) {
        this.metrics.received.inc({ stage: stageName }, fresh);
        this.received += fresh;
        state.receivedThrough = BigInt((chunk[chunk.length - 1] as RawRecord).offset);
      }
      const outcome = await prepareChunk(this.env, chunk, state.budget.attempts);
      if (outcome.kind !== 'ready') {
        failure = outcome;
        break;
      }
      prepared.push(outcome);
      for (const eventTime of outcome.eventTimes)
        if (eventTime > (state.maxEventTime ?? Number.NEGATIVE_INFINITY)) state.maxEventTime = eventTime;
      if (start + max < batch.records.length) await batch.heartbeat();
    }
    // Chunks before a failing one are still delivered, so a retry restarts exactly at the failure.
    if (prepared.length > 0) {
      const delivery = await deliverChunks(this.env, prepared);
      if (delivery) {
        failure = delivery;
        state.maxEventTime = eventTimeBefore;
      } else {
        for (const chunk of prepared) {
          state.tracker.finish(chunk.records.map((r) => BigInt(r.offset)));
          this.metrics.batchSize.observe({ stage: stageName }, chunk.records.length);
        }
        const lastDone = prepared[prepared.length - 1]?.records.at(-1) as RawRecord;
        batch.resolveOffset(lastDone.offset);
        this.metrics.batchDuration.observe({ stage: stageName }, (performance.now() - startedAt) / 1000);
      }
    }
    if (failure?.kind === 'fatal') return this.failFatal(failure.error);
    if (failure?.kind === 'retry') return this.scheduleRetry(state, failure.error, batch.records.length);
    if (failure?.kind === 'defer') return this.scheduleDefer(state, failure.reason, failure.delayMs);
    if (prepared.length > 0) state.budget.reset();
    // Not awaited: commits are serialised on their own chain and must not slow the partition.
    void this.commit(false);
  }

  private classify(error: unknown): ErrorDisposition {
    const own = this.stage.classifyError?.(error);
    return own && own !== 'unknown' ? own : defaultClassify(error);
  }

  /** Transient failure: pause the partition and resume it after a jittered backoff. */
  private scheduleRetry(state: PartitionState, error: unknown, records: number): void {
    const attempt = state.budget.attempts + 1;
    if (!state.budget.recordFailure()) {
      this.failFatal(
        new FatalError(
          `retry budget exhausted after ${attempt} attempts: ${errorMessage(error)}`,
          'retry_budget_exhausted',
          { cause: error },
        ),
      );
      return;
    }
    this.metrics.retries.inc({ stage: this.stage.name });
    const delay = backoffDelayMs(this.retryPolicy, attempt, this.options.random);
    this.log.warn(
      { partition: tpKey(state.tp), records, attempt, delayMs: delay, err: errorMessage(error) },
      'transient error, retrying batch after backoff',
    );
    this.pauseFor(state, delay);
  }

  /** The stage is waiting for something (bounded by the stage): pause without using the retry budget. */
  private scheduleDefer(state: PartitionState, reason: string, delayMs: number): void {
    this.metrics.deferrals.inc({ stage: this.stage.name, reason });
    this.log.debug({ partition: tpKey(state.tp), reason, delayMs }, 'batch deferred');
    this.pauseFor(state, delayMs);
  }

  /** Pauses fetching of one partition (backpressure, not sleeping in the handler) and resumes it later. */
  private pauseFor(state: PartitionState, delayMs: number): void {
    this.consumer.pause(state.tp);
    state.pausedAt = Date.now();
    state.resumeTimer = setTimeout(() => {
      this.clearPause(state);
      if (this.status === 'running' && this.partitions.get(tpKey(state.tp)) === state) this.consumer.resume(state.tp);
    }, delayMs);
  }

  private clearPause(state: PartitionState): void {
    if (state.resumeTimer) clearTimeout(state.resumeTimer);
    state.resumeTimer = undefined;
    if (state.pausedAt !== undefined) {
      this.metrics.pausedSeconds.inc({ stage: this.stage.name }, (Date.now() - state.pausedAt) / 1000);
      state.pausedAt = undefined;
    }
  }

  /**
   * Commits every partition's finished watermark that moved. Serialised so commits of
   * concurrent partitions never overtake each other; `force` ignores the interval.
   */
  commit(force: boolean): Promise<void> {
    const interval = this.options.commitIntervalMs ?? 200;
    if (!force && Date.now() - this.lastCommitAt < interval) {
      this.commitTimer ??= setTimeout(
        () => {
          this.commitTimer = undefined;
          if (this.status === 'running') void this.commit(false);
        },
        Math.max(1, this.lastCommitAt + interval - Date.now()),
      );
      return this.commitChain;
    }
    this.lastCommitAt = Date.now();
    this.commitChain = this.commitChain.then(async () => {
      const offsets: { state: PartitionState; offset: StoredOffset }[] = [];
      for (const state of this.partitions.values()) {
        const next = state.tracker.committable();
        if (next !== undefined) offsets.push({ state, offset: { ...state.tp, offset: next.toString() } });
      }
      if (offsets.length === 0) return;
      try {
        await this.consumer.commit(offsets.map((o) => o.offset));
        for (const { state, offset } of offsets) state.tracker.markCommitted(BigInt(offset.offset));
        this.metrics.commits.inc({ stage: this.stage.name });
      } catch (error) {
        // A failed commit only means more duplicates after a restart; the next one catches up.
        this.metrics.errors.inc({ stage: this.stage.name, phase: 'commit' });
        this.log.warn({ err: errorMessage(error) }, 'offset commit failed');
      }
    });
    return this.commitChain;
  }

  /** Records received so far, re-runs not counted: the worker's measure of activity. */
  get recordsReceived(): number {
    return this.received;
  }

  /** True when nothing is in flight or paused here (used by --exit-when-idle with group lag). */
  isQuiescent(): boolean {
    for (const state of this.partitions.values()) {
      if (state.tracker.inFlight > 0 || state.pausedAt !== undefined) return false;
    }
    return true;
  }
}
