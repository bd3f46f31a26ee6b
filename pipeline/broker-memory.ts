/**
 * An in-memory broker implementing the broker port with Kafka's consumer-group semantics that the
 * runner relies on: per-partition ordered batches, one batch in flight per partition, redelivery
 * of unresolved records, pause/resume/seek, eager rebalances (revoke all, then assign) that wait
 * for in-flight batches, and committed offsets per group. Fault hooks let tests fail or hold sends.
 */
import type {
  AdminPort,
  Broker,
  ConsumerHandlers,
  ConsumerPort,
  FetchedBatch,
  GroupMemberInfo,
  PartitionOffsets,
  ProduceRecord,
  ProducerPort,
} from './broker.js';
import { FatalError } from './errors.js';
import type { RawRecord, StoredOffset, TopicPartition } from './stage.js';
import type { TopicSpec } from './topics.js';

const tpKey = (tp: TopicPartition): string => `${tp.topic}:${tp.partition}`;
const toBuffer = (v: Buffer | string | null): Buffer | null =>
  v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);

/** Wakes every waiter on the next change (append, resume, seek, rebalance, stop). */
class ChangeSignal {
  private waiters: (() => void)[] = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

interface Group {
  readonly committed: Map<string, bigint>;
  members: MemoryConsumer[];
  rebalancing: Promise<void>;
}

function hashKey(key: Buffer): number {
  let hash = 0;
  for (const byte of key) hash = (hash * 31 + byte) | 0;
  return Math.abs(hash);
}

export class MemoryBroker implements Broker {
  readonly topics = new Map<string, RawRecord[][]>();
  readonly groups = new Map<string, Group>();
  readonly changed = new ChangeSignal();
  /** Number of `commit` calls per group, for tests. */
  readonly commitCalls = new Map<string, number>();
  private failures: { count: number; error: () => Error }[] = [];
  private held: Promise<void> | undefined;
  private roundRobin = 0;

  constructor(private readonly options: { maxBatchRecords?: number } = {}) {}

  get maxBatchRecords(): number {
    return this.options.maxBatchRecords ?? 500;
  }

  createTopic(topic: string, partitions: number): void {
    if (!this.topics.has(topic))
      this.topics.set(
        topic,
        Array.from({ length: partitions }, () => []),
      );
  }

  partitionsOf(topic: string): RawRecord[][] {
    const partitions = this.topics.get(topic);
    if (!partitions) throw new FatalError(`unknown topic ${topic}`, 'unknown_topic');
    return partitions;
  }

  /** Appends a record as a producer would; returns its offset. */
  append(record: ProduceRecord & { partition?: number }, timestamp = Date.now()): RawRecord {
    const partitions = this.partitionsOf(record.topic);
    const key = toBuffer(record.key);
    const partition =
      record.partition ?? (key ? hashKey(key) % partitions.length : this.roundRobin++ % partitions.length);
    const log = partitions[partition] as RawRecord[];
    const headers: Record<string, Buffer> = {};
    for (const [name, value] of Object.entries(record.headers ?? {})) headers[name] = toBuffer(value) as Buffer;
    const raw: RawRecord = {
      topic: record.topic,
      partition,
      offset: String(log.length),
      key,
      value: toBuffer(record.value),
      headers,
      timestamp,
    };
    log.push(raw);
    this.changed.notify();
    return raw;
  }

  /** The next `count` sends reject with `error()` (e.g. a TransientError). */
  failNextSends(count: number, error: () => Error): void {
    this.failures.push({ count, error });
  }

  /** Sends wait (unacknowledged) until the returned function is called. */
  holdSends(): () => void {
    let release!: () => void;
    this.held = new Promise((resolve) => {
      release = resolve;
    });
    return () => {
      this.held = undefined;
      release();
    };
  }

  async acceptSend(records: readonly ProduceRecord[]): Promise<void> {
    if (this.held) await this.held;
    const failure = this.failures[0];
    if (failure) {
      failure.count -= 1;
      if (failure.count <= 0) this.failures.shift();
      throw failure.error();
    }
    for (const record of records) this.partitionsOf(record.topic);
    for (const record of records) this.append(record);
  }

  committed(groupId: string, tp: TopicPartition): bigint | undefined {
    return this.groups.get(groupId)?.committed.get(tpKey(tp));
  }

  group(groupId: string): Group {
    let group = this.groups.get(groupId);
    if (!group) {
      group = { committed: new Map(), members: [], rebalancing: Promise.resolve() };
      this.groups.set(groupId, group);
    }
    return group;
  }

  /** Eager rebalance: every member finishes its batches and loses everything, then all get new shares. */
  rebalance(groupId: string): Promise<void> {
    const group = this.group(groupId);
    group.rebalancing = group.rebalancing.then(async () => {
      for (const member of group.members) await member.revokeAll();
      const topics = [...new Set(group.members.flatMap((m) => m.subscribed))].sort();
      const tps: TopicPartition[] = topics.flatMap((topic) =>
        this.partitionsOf(topic).map((_, partition) => ({ topic, partition })),
      );
      const shares = new Map<MemoryConsumer, TopicPartition[]>(group.members.map((m) => [m, []]));
      tps.forEach((tp, i) => {
        shares.get(group.members[i % group.members.length] as MemoryConsumer)?.push(tp);
      });
      for (const [member, share] of shares) await member.assign(share);
    });
    return group.rebalancing;
  }

  consumer(options: { groupId: string }): MemoryConsumer {
    return new MemoryConsumer(this, options.groupId);
  }

  producer(): ProducerPort {
    return {
      connect: async () => undefined,
      send: (records) => this.acceptSend(records),
      disconnect: async () => undefined,
    };
  }

  admin(): AdminPort {
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      ensureTopics: async (specs: readonly TopicSpec[]) => {
        for (const spec of specs) this.createTopic(spec.topic, spec.partitions);
      },
      listTopics: async () => [...this.topics.keys()],
      topicOffsets: async (topic): Promise<PartitionOffsets[]> =>
        this.partitionsOf(topic).map((log, partition) => ({ partition, low: '0', high: String(log.length) })),
      groupOffsets: async (groupId, topic) =>
        this.partitionsOf(topic).map((_, partition) => ({
          partition,
          offset: String(this.groups.get(groupId)?.committed.get(tpKey({ topic, partition })) ?? -1n),
        })),
      groupMembers: async (groupId): Promise<GroupMemberInfo[]> =>
        (this.groups.get(groupId)?.members ?? []).map((m, i) => ({
          memberId: `member-${i}`,
          clientId: 'memory',
          host: 'memory',
          assignment: m.assignedPartitions(),
        })),
    };
  }

  async readTopic(topic: string): Promise<readonly RawRecord[]> {
    return this.partitionsOf(topic).flat();
  }
}

export class MemoryConsumer implements ConsumerPort {
  subscribed: string[] = [];
  private handlers: ConsumerHandlers | undefined;
  private readonly assigned = new Map<string, TopicPartition>();
  private readonly positions = new Map<string, bigint>();
  private readonly paused = new Set<string>();
  private readonly seeks = new Map<string, bigint>();
  private readonly loops = new Map<string, Promise<void>>();
  private running = false;

  constructor(
    private readonly broker: MemoryBroker,
    readonly groupId: string,
  ) {}

  async connect(): Promise<void> {}

  async subscribe(topics: readonly string[]): Promise<void> {
    this.subscribed = [...topics];
  }

  async run(handlers: ConsumerHandlers): Promise<void> {
    this.handlers = handlers;
    this.running = true;
    this.broker.group(this.groupId).members.push(this);
    // Like kafkajs, run() returns before the join completes.
    void this.broker.rebalance(this.groupId);
  }

  assignedPartitions(): TopicPartition[] {
    return [...this.assigned.values()];
  }

  async revokeAll(): Promise<void> {
    const revoked = [...this.assigned.values()];
    this.assigned.clear();
    this.broker.changed.notify();
    await Promise.all(this.loops.values());
    // In-flight batches are done: the last commit of the old owner covers all of its work.
    await this.handlers?.onRebalancing();
    this.loops.clear();
    this.positions.clear();
    // Paused partitions stay paused across a rebalance, as in kafkajs (its subscription state
    // keeps them): the consumer of the port must resume what it paused.
    this.seeks.clear();
    if (revoked.length > 0) await this.handlers?.onRevoked(revoked);
  }

  async assign(tps: readonly TopicPartition[]): Promise<void> {
    for (const tp of tps) this.assigned.set(tpKey(tp), tp);
    await this.handlers?.onAssigned(tps);
    for (const tp of tps) this.loops.set(tpKey(tp), this.loop(tp));
  }

  private async loop(tp: TopicPartition): Promise<void> {
    const key = tpKey(tp);
    const group = this.broker.group(this.groupId);
    while (this.running && this.assigned.has(key)) {
      const changed = this.broker.changed.wait();
      const seek = this.seeks.get(key);
      if (seek !== undefined) {
        this.positions.set(key, seek);
        this.seeks.delete(key);
      }
      const log = this.broker.partitionsOf(tp.topic)[tp.partition] as RawRecord[];
      const position = this.positions.get(key) ?? group.committed.get(key) ?? 0n;
      if (this.paused.has(key) || position >= BigInt(log.length)) {
        await changed;
        continue;
      }
      const records = log.slice(Number(position), Number(position) + this.broker.maxBatchRecords);
      let resolved: bigint | undefined;
      const batch: FetchedBatch = {
        topic: tp.topic,
        partition: tp.partition,
        records,
        highWatermark: String(log.length),
        resolveOffset: (offset) => {
          resolved = BigInt(offset);
        },
        heartbeat: async () => undefined,
        isStale: () => this.seeks.has(key),
      };
      try {
        await this.handlers?.onBatch(batch);
      } catch (error) {
        this.handlers?.onCrash(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (resolved !== undefined && !this.seeks.has(key)) this.positions.set(key, resolved + 1n);
      // Unresolved records are delivered again, as kafkajs does with eachBatchAutoResolve off.
      else if (resolved === undefined) this.positions.set(key, position);
    }
  }

  pause(tp: TopicPartition): void {
    this.paused.add(tpKey(tp));
  }

  resume(tp: TopicPartition): void {
    this.paused.delete(tpKey(tp));
    this.broker.changed.notify();
  }

  seek(offset: StoredOffset): void {
    this.seeks.set(tpKey(offset), BigInt(offset.offset));
    this.broker.changed.notify();
  }

  async commit(offsets: readonly StoredOffset[]): Promise<void> {
    this.broker.commitCalls.set(this.groupId, (this.broker.commitCalls.get(this.groupId) ?? 0) + 1);
    const group = this.broker.group(this.groupId);
    for (const offset of offsets) group.committed.set(tpKey(offset), BigInt(offset.offset));
  }

  async stop(beforeLeave?: () => Promise<void>): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.broker.changed.notify();
    await Promise.all(this.loops.values());
    await beforeLeave?.();
  }

  async disconnect(): Promise<void> {
    await this.stop();
    const group = this.broker.group(this.groupId);
    if (!group.members.includes(this)) return;
    // Leaving the group: the others take over our partitions (our handlers are already done).
    this.assigned.clear();
    group.members = group.members.filter((m) => m !== this);
    if (group.members.length > 0) await this.broker.rebalance(this.groupId);
  }
}
