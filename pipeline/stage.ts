/**
 * The stage contract. A stage is mostly pure code: the runner owns Kafka, offsets, retries,
 * dead letters and metrics; the stage turns a batch of decoded records into one result each.
 * Written down in docs/stage-spec.md.
 */

/** Bytes as they came off the wire; dead letters carry them unchanged. */
export interface RawRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | undefined>>;
  /** Broker timestamp, ms since epoch. */
  readonly timestamp: number;
}

export interface Envelope<In> {
  readonly value: In;
  readonly raw: RawRecord;
  /** Event time (ms since epoch) if the codec or stage knows it; feeds the event-lag histogram. */
  readonly eventTime?: number;
}

export type DecodeResult<T> =
  | { readonly ok: true; readonly value: T; readonly eventTime?: number }
  | { readonly ok: false; readonly code: string; readonly message: string };

export interface Codec<T> {
  decode(raw: RawRecord): DecodeResult<T>;
  encode(value: T): Buffer;
  /**
   * Optional: what `decode` would return for `encode(value)` read from `topic`, without the bytes
   * in between (a chain hands values from stage to stage in memory). `from` is the codec the
   * upstream stage declared for the value: a value typed for this very codec (or one it trusts)
   * needs no second check; any other value must be checked as decode checks it.
   */
  adopt?(value: unknown, topic: string, from?: Codec<unknown>): DecodeResult<T>;
}

export interface OutputRecord<Out> {
  readonly value: Out;
  /** Overrides the output's key function. */
  readonly key?: string;
  /**
   * The declared output (by name) this record goes to; the main one when omitted. Build records
   * for side outputs with `toOutput`, which types the value by that output's codec.
   */
  readonly output?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Name of a stage's main output: the one a result addresses by default and a chain passes on. */
export const MAIN_OUTPUT = 'main';

export interface OutputSpec<Out> {
  /** What results address it by (snake_case); `main` when omitted. */
  readonly name?: string;
  /** Logical topic name, before the prefix is applied (e.g. `readings.validated.v1`). */
  readonly topic: string;
  readonly codec: Codec<Out>;
  /** Method syntax on purpose: keeps `Stage<In, never>` (sinks) assignable to `Stage<any, any>`. */
  key(value: Out): string;
}

export interface BatchPolicy {
  /** Most records handed to one `process` call. */
  readonly maxRecords: number;
}

export type StageResult<Out> =
  | { readonly kind: 'ok'; readonly outputs: readonly OutputRecord<Out>[] }
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'retry'; readonly error: Error }
  /**
   * Not ready yet (e.g. data this record joins with has not arrived): the runner pauses the
   * partition for `delayMs` and hands the same records in again, without using the retry budget.
   * The stage must bound how long it defers a record.
   */
  | { readonly kind: 'defer'; readonly reason: string; readonly delayMs?: number }
  /** `stage`: which stage of a chain rejected it (its dead-letter topic); the running stage by default. */
  | { readonly kind: 'dead_letter'; readonly code: string; readonly error: Error; readonly stage?: string };

export const ok = <Out>(...outputs: OutputRecord<Out>[]): StageResult<Out> => ({ kind: 'ok', outputs });
/**
 * A record for a named side output, its value typed by that output's codec. The result is
 * `OutputRecord<never>` so it sits in any stage's `ok(...)` next to main-output records.
 */
export const toOutput = <T>(
  spec: OutputSpec<T> & { readonly name: string },
  value: T,
  options: { readonly key?: string; readonly headers?: Readonly<Record<string, string>> } = {},
): OutputRecord<never> => ({ ...options, output: spec.name, value: value as never });
export const skip = (reason: string): StageResult<never> => ({ kind: 'skip', reason });
export const retry = (error: Error): StageResult<never> => ({ kind: 'retry', error });
export const defer = (reason: string, delayMs?: number): StageResult<never> =>
  delayMs === undefined ? { kind: 'defer', reason } : { kind: 'defer', reason, delayMs };
export const deadLetter = (code: string, error: Error | string): StageResult<never> => ({
  kind: 'dead_letter',
  code,
  error: typeof error === 'string' ? new Error(error) : error,
});

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Where a sink that stores offsets itself (e.g. with its rows) tells the runner to resume. */
export interface StoredOffset extends TopicPartition {
  /** Next offset to read. */
  readonly offset: string;
}

export interface StageContext {
  readonly stage: string;
  readonly log: import('pino').Logger;
  /** Aborted when the worker shuts down; long calls should honour it. */
  readonly signal: AbortSignal;
  /**
   * Offered to stages that store their offsets: sends these dead letters now and waits for the
   * broker's acknowledgement (a chain uses it before its last step stores offsets past them).
   */
  readonly acknowledgeDeadLetters?: (
    deadLetters: readonly { readonly raw: RawRecord; readonly result: StageResult<unknown> }[],
  ) => Promise<void>;
  /**
   * Offered with `acknowledgeDeadLetters`: produces these side-output records now and waits for
   * the broker's acknowledgement (a chain sends its earlier steps' side outputs this way before its
   * last step stores offsets past the records that caused them). At-least-once, like dead letters.
   */
  readonly acknowledgeOutputs?: (outputs: readonly OutputRecord<unknown>[]) => Promise<void>;
  /**
   * Offered by a chain to its last stage when that stage stores offsets: the next offset per
   * partition after the chain's whole input chunk. Once this call succeeds every record of the
   * chunk is finished (earlier steps' dead letters are acknowledged, skips need nothing), so the
   * stage stores these rather than its own batch's, which may end before the chunk does.
   */
  readonly inputEnd?: readonly StoredOffset[];
  /** Event time per partition, kept by the runner (docs/stage-spec.md, partition-owned state). */
  readonly eventTime?: PartitionEventTime;
  /**
   * This member's partitions whose last attempt failed transiently and is being retried (paused
   * for a backoff): what they hold is delayed, not absent. A stage that waits for data from one
   * input while another is held up (enrich_weather: readings waiting for weather) waits on.
   */
  readonly retryingPartitions?: () => readonly TopicPartition[];
  /**
   * Counters of the stage's own on the worker's registry: served on /metrics with the runtime's
   * and shown in the run summary. Offered by the runner (absent when a test calls a stage directly).
   */
  readonly metrics?: StageMetrics;
}

/** A counter a stage owns (see `StageMetrics`). */
export interface StageCounter<L extends string = never> {
  inc(value?: number, labels?: Readonly<Record<L, string>>): void;
}

export interface StageMetrics {
  /**
   * The counter `eaio_<name>_total`, labelled `stage` (the running stage, a chain's name when
   * chained) plus `labelNames`. `name` is snake_case without `_total`; asking again for a name
   * returns the same counter, with the same labels.
   */
  counter<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): StageCounter<L>;
  /**
   * The histogram `eaio_<name>` (the name ends with its unit, e.g. `_seconds`), labelled `stage`;
   * asking again for a name returns the same histogram.
   */
  histogram?(name: string, help: string, buckets: readonly number[]): StageHistogram;
}

/** A histogram a stage owns (see `StageMetrics`). */
export interface StageHistogram {
  observe(value: number): void;
}

/**
 * The largest event time of each assigned partition's records that reached `process` before the
 * current call (chunks that were retried or deferred do not count until they succeed).
 * `pipeline/partition-state.ts` (`EventClock`) turns it into per-record watermarks.
 */
export interface PartitionEventTime {
  /** Undefined until a record with an event time was processed (or `restore` was called). */
  maxEventTime(partition: TopicPartition): number | undefined;
  /**
   * Raises the partition's largest event time to what the stage's rebuilt state already saw
   * (call from `onPartitionsAssigned`); ignored for a partition this member does not hold.
   */
  restore(partition: TopicPartition, eventTime: number): void;
}

export interface Stage<In, Out = never> {
  /** snake_case, stable: used in topic, group, metric and DLQ names. */
  readonly name: string;
  /** Logical input topics (before the prefix). */
  readonly inputs: readonly string[];
  readonly input: Codec<In>;
  /** The main output: what a result addresses by default, and what a chain hands to its next step. */
  readonly output?: OutputSpec<Out>;
  /**
   * Further named outputs (e.g. alerts), each with its own topic, codec and key. Always produced
   * to their topics, chained or not. Names are unique within a stage (and within a chain).
   */
  // biome-ignore lint/suspicious/noExplicitAny: side outputs carry their own value types
  readonly sideOutputs?: readonly (OutputSpec<any> & { readonly name: string })[];
  readonly batch: BatchPolicy;
  /** The stages whose dead-letter topics this one writes to (a chain's steps); `[name]` by default. */
  readonly deadLetterStages?: readonly string[];
  /**
   * How a throw from `process` is treated: `retry` (transient: the batch is retried with backoff
   * while the partition is paused), `fatal` (the worker stops without committing past it) or
   * `unknown` (the batch is re-run record by record and only the offenders are dead-lettered).
   */
  classifyError?(error: unknown): 'retry' | 'fatal' | 'unknown';
  init?(ctx: StageContext): Promise<void>;
  process(batch: readonly Envelope<In>[], ctx: StageContext): Promise<readonly StageResult<Out>[]>;
  /**
   * No record of these partitions reaches `process` before this resolves: build their state here
   * (`PartitionStateStore`). A rejection stops the worker (fatal).
   */
  onPartitionsAssigned?(partitions: readonly TopicPartition[], ctx: StageContext): Promise<void>;
  onPartitionsRevoked?(partitions: readonly TopicPartition[], ctx: StageContext): Promise<void>;
  /**
   * Sinks that keep offsets in their own store (same transaction as their rows) return them
   * here; the runner seeks to them on assignment and does not rely on the group's commits.
   */
  loadStoredOffsets?(partitions: readonly TopicPartition[], ctx: StageContext): Promise<readonly StoredOffset[]>;
  close?(): Promise<void>;
}
