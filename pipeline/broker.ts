/**
 * The broker port: the few operations the runner needs, shaped after kafkajs's consumer-group
 * model (push of per-partition batches) so the kafkajs adapter stays thin. `broker-memory.ts`
 * implements the same contract for fast unit tests; `broker-kafka.ts` (kafkajs) and
 * `broker-platformatic.ts` (@platformatic/kafka) for the real broker.
 */
import type { StartupWaitOptions } from './service-unreachable.js';
import type { RawRecord, StoredOffset, TopicPartition } from './stage.js';
import type { TopicSpec } from './topics.js';

/** A fetched run of consecutive records of one partition. */
export interface FetchedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly RawRecord[];
  /** Offset of the next record the broker will write (log end), as a decimal string. */
  readonly highWatermark: string;
  /**
   * Marks everything up to and including `offset` as consumed: the next batch of this partition
   * starts after it. Records not resolved when the handler returns are delivered again.
   */
  resolveOffset(offset: string): void;
  /** Keeps group membership alive during long batches; rejects when the group is rebalancing. */
  heartbeat(): Promise<void>;
  /** True once a seek made this batch obsolete. */
  isStale(): boolean;
}

export interface ConsumerHandlers {
  onBatch(batch: FetchedBatch): Promise<void>;
  /** Called after the group gave this member `partitions` (kafkajs: after the join completed). */
  onAssigned(partitions: readonly TopicPartition[]): Promise<void>;
  /** Called when the partitions are taken away (kafkajs: only known after the re-join). */
  onRevoked(partitions: readonly TopicPartition[]): Promise<void>;
  /** Called when a rebalance starts, before partitions move: the last chance to commit. */
  onRebalancing(): Promise<void>;
  /** The consumer died on its own (e.g. lost the broker for good). */
  onCrash(error: Error): void;
}

export interface ConsumerPort {
  connect(): Promise<void>;
  subscribe(topics: readonly string[]): Promise<void>;
  run(handlers: ConsumerHandlers): Promise<void>;
  pause(partition: TopicPartition): void;
  resume(partition: TopicPartition): void;
  /** Next batch of this partition starts at `offset`. */
  seek(offset: StoredOffset): void;
  /** Stores `offset` (the next offset to read) as the group's position. */
  commit(offsets: readonly StoredOffset[]): Promise<void>;
  /**
   * Stops fetching, waits for in-flight batch handlers to return, calls `beforeLeave` (the
   * runner's final commit: it must happen while this member still belongs to the group) and
   * leaves the group.
   */
  stop(beforeLeave?: () => Promise<void>): Promise<void>;
  disconnect(): Promise<void>;
}

export interface ProduceRecord {
  readonly topic: string;
  readonly key: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, Buffer | string>>;
}

export interface ProducerPort {
  connect(): Promise<void>;
  /**
   * Resolves once every record is acknowledged by all in-sync replicas. Rejects with a
   * `TransientError` (worth retrying) or a `FatalError`.
   */
  send(records: readonly ProduceRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface PartitionOffsets {
  readonly partition: number;
  /** Earliest available offset. */
  readonly low: string;
  /** Log end offset. */
  readonly high: string;
}

export interface GroupMemberInfo {
  readonly memberId: string;
  readonly clientId: string;
  readonly host: string;
  readonly assignment: readonly TopicPartition[];
}

export interface AdminPort {
  connect(): Promise<void>;
  /** Creates the missing topics; existing ones are left as they are. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  listTopics(): Promise<readonly string[]>;
  topicOffsets(topic: string): Promise<readonly PartitionOffsets[]>;
  /** Committed next-offsets of the group per partition (-1 when none). */
  groupOffsets(groupId: string, topic: string): Promise<readonly { partition: number; offset: string }[]>;
  groupMembers(groupId: string): Promise<readonly GroupMemberInfo[]>;
  disconnect(): Promise<void>;
}

export interface Broker {
  consumer(options: { groupId: string; clientId?: string }): ConsumerPort;
  producer(): ProducerPort;
  admin(): AdminPort;
  /** Reads every record of `topic` present when called, from the earliest offset (no group). */
  readTopic(topic: string): Promise<readonly RawRecord[]>;
}

/** A broker on a real cluster, either client: commands and workers probe it before they start. */
export interface ClusterBroker extends Broker {
  /** One round trip; throws ServiceUnreachableError. */
  probe(timeoutMs?: number): Promise<void>;
  waitUntilReachable(options: Omit<StartupWaitOptions, 'service' | 'address'>): Promise<void>;
}
