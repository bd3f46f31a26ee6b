/**
 * The consumer port on @platformatic/kafka. The library keeps the group membership (join, sync,
 * heartbeats); fetching is ours, with an explicit position per partition, because the library's
 * message stream has no per-partition pause, seek or redelivery of unresolved records.
 *
 * - One fetch per broker at a time, for the assigned partitions that are neither paused nor busy;
 *   a partition is busy from its fetch until its handler returns, and at most
 *   `partitionsConsumedConcurrently` are busy. Memory is therefore bounded by one batch
 *   (maxBytesPerPartition, or one record batch if larger) per busy partition plus one response
 *   (maxBytes) per broker.
 * - A handler's unresolved records are fetched again: the position moves only by resolveOffset.
 * - Rebalances are eager, like kafkajs: before this member re-joins (the library's metadata hook
 *   runs before every JoinGroup) in-flight batches are given a bounded time to finish and
 *   onRebalancing commits; every completed join revokes the whole old assignment and assigns the
 *   new one, which restarts from the group's committed offsets.
 */
import type { ConnectionPool, Consumer, ConsumerGroupJoinPayload } from '@platformatic/kafka';
import type { Logger } from 'pino';
import type { ConsumerHandlers, ConsumerPort, FetchedBatch } from './broker.js';
import {
  classifyPlatformaticError,
  decodePartition,
  type FetchResponse,
  loadPlatformatic,
  retryDelay,
} from './platformatic-client.js';
import type { StoredOffset, TopicPartition } from './stage.js';

export interface PlatformaticConsumerOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  readonly log: Logger;
  readonly sessionTimeoutMs?: number;
  readonly maxBytesPerPartition?: number;
  /** Upper bound of one fetch response (default 10 MiB). */
  readonly maxBytes?: number;
  /** Longest a fetch waits for data; short so a resumed (retrying) partition is fetched soon. */
  readonly maxWaitTimeMs?: number;
  /** Upper bound of partitions fetched or handled at the same time (default 64, as the kafkajs adapter). */
  readonly partitionsConsumedConcurrently?: number;
}

/**
 * The group protocol kafkajs's default assigner announces (same name, v0 subscription), so
 * kafkajs and platformatic workers can share one group while a fleet switches clients.
 */
const groupProtocols = [{ name: 'RoundRobinAssigner', version: 0 }];

interface Cursor {
  readonly tp: TopicPartition;
  readonly key: string;
  /** Next offset to fetch; undefined until the group's committed offset is known. */
  position: bigint | undefined;
  /** Bumped by every seek: fetches and batches from before it are obsolete. */
  seeks: number;
  fetching: boolean;
  handling: boolean;
  revoked: boolean;
}

interface Requested {
  readonly cursor: Cursor;
  readonly offset: bigint;
  readonly seeks: number;
}

/** Thrown by a batch's heartbeat() once the group rebalances or its partition is gone. */
export class RebalanceInProgressError extends Error {
  constructor() {
    super('kafka: the group is rebalancing');
    this.name = 'RebalanceInProgressError';
  }
}

const OFFSET_OUT_OF_RANGE = 1;

const tpKey = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class PlatformaticConsumer implements ConsumerPort {
  private client: Consumer | undefined;
  /** Fetches get their own connections: a long poll must not delay heartbeats and commits. */
  private pool: ConnectionPool | undefined;
  private topics: string[] = [];
  private handlers: ConsumerHandlers | undefined;
  private cursors = new Map<string, Cursor>();
  /** Paused partitions, kept across rebalances like kafkajs does. */
  private readonly paused = new Set<string>();
  private assigned: TopicPartition[] = [];
  private generationId: number | undefined;
  /** Revoke and assign hooks run in order, and batches wait for them. */
  private lifecycle: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly fetchingNodes = new Set<number>();
  private rebalancing = false;
  private draining: Promise<void> | undefined;
  private stopping = false;
  private crashed = false;
  private pumping = false;
  private pumpAgain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private fetchFailures = 0;
  /** No fetch starts before this time (ms) after a failed one. */
  private backoffUntil = 0;
  private readonly sessionTimeoutMs: number;
  private readonly maxWaitTimeMs: number;
  private readonly concurrency: number;

  constructor(private readonly options: PlatformaticConsumerOptions) {
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    this.maxWaitTimeMs = options.maxWaitTimeMs ?? 100;
    this.concurrency = Math.max(1, options.partitionsConsumedConcurrently ?? 64);
  }

  async connect(): Promise<void> {
    const kafka = await loadPlatformatic();
    const base = {
      clientId: this.options.clientId,
      bootstrapBrokers: [...this.options.brokers],
      retries: 8,
      retryDelay,
    };
    this.client = new kafka.Consumer({
      ...base,
      groupId: this.options.groupId,
      autocommit: false,
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 60_000,
      protocols: groupProtocols,
      protocolsMetadata: () => this.beforeJoin(),
      maxWaitTime: this.maxWaitTimeMs,
      minBytes: 1,
      maxBytes: this.options.maxBytes ?? 10 * 1_048_576,
      maxBytesPerPartition: this.options.maxBytesPerPartition ?? 1_048_576,
      // A request must outlive the longest fetch wait.
      timeout: Math.max(5_000, this.maxWaitTimeMs + 5_000),
    });
    this.pool = new kafka.ConnectionPool(this.options.clientId, {
      connectTimeout: 5_000,
      requestTimeout: Math.max(5_000, this.maxWaitTimeMs + 5_000),
    });
    this.client.on('consumer:group:join', (payload) => this.onJoin(payload));
    this.client.on('consumer:group:rebalance', () => {
      this.rebalancing = true;
    });
    // A re-join that failed for good: without a listener the library's 'error' event would throw.
    this.client.on('error', (error: Error) => this.crash(error));
    await this.client.metadata({ topics: [] }).catch((error: unknown) => {
      throw classifyPlatformaticError(error);
    });
  }

  async subscribe(topics: readonly string[]): Promise<void> {
    const client = this.requireClient();
    this.topics = [...new Set([...this.topics, ...topics])];
    for (const topic of topics) client.topics.track(topic);
  }

  /** Joins the group (resolves once joined, as kafkajs's run does) and starts fetching. */
  async run(handlers: ConsumerHandlers): Promise<void> {
    const client = this.requireClient();
    this.handlers = handlers;
    try {
      await client.joinGroup({
        sessionTimeout: this.sessionTimeoutMs,
        rebalanceTimeout: 60_000,
        heartbeatInterval: 1_000,
        protocols: groupProtocols,
        protocolsMetadata: () => this.beforeJoin(),
      });
    } catch (error) {
      throw classifyPlatformaticError(error);
    }
  }

  /** Ignored for a partition not assigned here: a late handler of a revoked one must not pause its next owner. */
  pause(tp: TopicPartition): void {
    if (this.cursors.has(tpKey(tp))) this.paused.add(tpKey(tp));
  }

  resume(tp: TopicPartition): void {
    if (this.paused.delete(tpKey(tp))) this.pump();
  }

  seek(offset: StoredOffset): void {
    const cursor = this.cursors.get(tpKey(offset));
    if (!cursor) return;
    cursor.position = BigInt(offset.offset);
    cursor.seeks += 1;
    this.pump();
  }

  /** Commits only partitions still assigned here: a late commit must not rewind a new owner. */
  async commit(offsets: readonly StoredOffset[]): Promise<void> {
    const client = this.requireClient();
    const mine = offsets.filter((o) => this.cursors.get(tpKey(o))?.revoked === false);
    if (mine.length === 0) return;
    try {
      await client.commit({
        offsets: mine.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: BigInt(o.offset),
          leaderEpoch: -1,
        })),
      });
    } catch (error) {
      throw classifyPlatformaticError(error);
    }
  }

  async stop(beforeLeave?: () => Promise<void>): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await Promise.allSettled([...this.inFlight]);
    await beforeLeave?.();
    const client = this.client;
    if (client && this.handlers) {
      await new Promise<void>((resolve, reject) =>
        client.leaveGroup(true, (error) => (error ? reject(error) : resolve())),
      ).catch((error: unknown) => {
        this.options.log.warn({ err: classifyPlatformaticError(error).message }, 'leaving the consumer group failed');
      });
    }
  }

  async disconnect(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.pool?.close().catch(() => undefined);
    await this.client?.close(true).catch(() => undefined);
  }

  private requireClient(): Consumer {
    if (!this.client) throw new Error('kafka consumer used before connect()');
    return this.client;
  }

  private crash(error: unknown): void {
    if (this.stopping || this.crashed) return;
    this.crashed = true;
    this.handlers?.onCrash(classifyPlatformaticError(error));
  }

  /**
   * Runs before every JoinGroup this member sends. Past the first join it is the rebalance's start:
   * stop fetching, give in-flight batches a bounded time, then let the runner commit while the
   * group still takes commits of this generation. No heartbeats go out meanwhile, so both waits
   * together stay within half the session timeout; the bound also ends the wait when the join
   * was forced by a failing commit that the runner's final commit queues behind.
   */
  private async beforeJoin(): Promise<Buffer> {
    const userData = Buffer.alloc(0);
    if (this.generationId === undefined || this.stopping || !this.handlers) return userData;
    this.rebalancing = true;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
    await this.draining;
    return userData;
  }

  private async drain(): Promise<void> {
    const bound = Math.max(500, Math.floor(this.sessionTimeoutMs / 4));
    await Promise.race([Promise.allSettled([...this.inFlight]), sleep(bound)]);
    const handlers = this.handlers;
    if (!handlers || this.stopping) return;
    await Promise.race([handlers.onRebalancing().catch(() => undefined), sleep(bound)]);
  }

  /** A completed join: the whole old assignment is revoked and the new one assigned. */
  private onJoin(payload: ConsumerGroupJoinPayload): void {
    const handlers = this.handlers;
    if (this.stopping || !handlers) return;
    const generation = payload.generationId ?? -1;
    this.rebalancing = false;
    // The same generation again: a re-join that changed nothing (the library can report one twice).
    if (generation === this.generationId) {
      this.pump();
      return;
    }
    this.generationId = generation;
    const next = (payload.assignments ?? []).flatMap((a) =>
      a.partitions.map((partition) => ({ topic: a.topic, partition })),
    );
    const previous = this.assigned;
    this.assigned = next;
    for (const cursor of this.cursors.values()) cursor.revoked = true;
    this.cursors = new Map(
      next.map((tp) => [
        tpKey(tp),
        { tp, key: tpKey(tp), position: undefined, seeks: 0, fetching: false, handling: false, revoked: false },
      ]),
    );
    this.lifecycle = this.lifecycle.then(async () => {
      if (previous.length > 0) await handlers.onRevoked(previous);
      await handlers.onAssigned(next);
    });
    void this.loadPositions([...this.cursors.values()]);
  }

  /** Committed offsets of newly assigned partitions; the earliest offset where there is none. */
  private async loadPositions(cursors: readonly Cursor[], attempt = 1): Promise<void> {
    const client = this.client;
    if (!client || cursors.length === 0) return;
    const byTopic = new Map<string, number[]>();
    for (const c of cursors) byTopic.set(c.tp.topic, [...(byTopic.get(c.tp.topic) ?? []), c.tp.partition]);
    try {
      const committed = await client.listCommittedOffsets({
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      });
      const missing = cursors.filter((c) => (committed.get(c.tp.topic)?.[c.tp.partition] ?? -1n) < 0n);
      const earliest =
        missing.length === 0
          ? new Map<string, bigint[]>()
          : await client.listOffsets({
              topics: [...new Set(missing.map((c) => c.tp.topic))],
              partitions: Object.fromEntries(
                [...new Set(missing.map((c) => c.tp.topic))].map((t) => [
                  t,
                  missing.filter((c) => c.tp.topic === t).map((c) => c.tp.partition),
                ]),
              ),
              timestamp: -2n,
            });
      for (const c of cursors) {
        if (c.revoked || c.position !== undefined) continue;
        const own = committed.get(c.tp.topic)?.[c.tp.partition] ?? -1n;
        c.position = own >= 0n ? own : (earliest.get(c.tp.topic)?.[c.tp.partition] ?? 0n);
      }
      this.pump();
    } catch (error) {
      if (this.stopping || cursors.every((c) => c.revoked)) return;
      if (attempt >= 5) {
        this.crash(error);
        return;
      }
      this.options.log.warn(
        { err: classifyPlatformaticError(error).message, attempt },
        'reading committed offsets failed, retrying',
      );
      await sleep(retryDelay(undefined, 'positions', attempt));
      return this.loadPositions(cursors, attempt + 1);
    }
  }

  /** Starts a fetch on every broker that has none running, for its partitions ready to fetch. */
  private pump(): void {
    const client = this.client;
    if (!client || !this.handlers || this.stopping || this.rebalancing || this.crashed) return;
    if (Date.now() < this.backoffUntil) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    const ready = () => [...this.cursors.values()].filter((c) => this.isReady(c));
    if (ready().length === 0) return;
    this.pumping = true;
    client
      .metadata({ topics: this.topics })
      .then(
        (metadata) => {
          if (this.stopping || this.rebalancing) return;
          const byNode = new Map<number, Cursor[]>();
          let room = this.concurrency - [...this.cursors.values()].filter((c) => c.fetching || c.handling).length;
          for (const cursor of ready()) {
            if (room <= 0) break;
            const leader = metadata.topics.get(cursor.tp.topic)?.partitions[cursor.tp.partition]?.leader;
            if (leader === undefined || leader < 0 || this.fetchingNodes.has(leader)) continue;
            byNode.set(leader, [...(byNode.get(leader) ?? []), cursor]);
            room -= 1;
          }
          const topicIds = new Map([...metadata.topics].map(([name, t]) => [name, t.id]));
          for (const [node, cursors] of byNode) this.fetchFrom(client, node, cursors, topicIds);
        },
        (error: unknown) => this.fetchFailed(error, [], new Map()),
      )
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      });
  }

  private isReady(c: Cursor): boolean {
    return !c.revoked && c.position !== undefined && !c.fetching && !c.handling && !this.paused.has(c.key);
  }

  private fetchFrom(client: Consumer, node: number, cursors: readonly Cursor[], topicIds: Map<string, string>): void {
    this.fetchingNodes.add(node);
    const requested: Requested[] = cursors.map((cursor) => ({
      cursor,
      offset: cursor.position as bigint,
      seeks: cursor.seeks,
    }));
    const byTopic = new Map<string, Requested[]>();
    for (const r of requested) {
      r.cursor.fetching = true;
      byTopic.set(r.cursor.tp.topic, [...(byTopic.get(r.cursor.tp.topic) ?? []), r]);
    }
    const maxBytesPerPartition = this.options.maxBytesPerPartition ?? 1_048_576;
    client
      .fetch({
        node,
        connectionPool: this.pool as ConnectionPool,
        maxWaitTime: this.maxWaitTimeMs,
        topics: [...byTopic].map(([topic, rs]) => ({
          topicId: topicIds.get(topic) as string,
          partitions: rs.map((r) => ({
            partition: r.cursor.tp.partition,
            fetchOffset: r.offset,
            partitionMaxBytes: maxBytesPerPartition,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
          })),
        })),
      })
      .then(
        (response) => {
          this.fetchFailures = 0;
          this.deliver(response, requested, topicIds);
        },
        (error: unknown) => this.fetchFailed(error, requested, topicIds),
      )
      .finally(() => {
        for (const r of requested) r.cursor.fetching = false;
        this.fetchingNodes.delete(node);
        this.pump();
      });
  }

  /** Hands each partition's records to the handler, unless the partition moved on meanwhile. */
  private deliver(response: FetchResponse, requested: readonly Requested[], topicIds: Map<string, string>): void {
    const topicOf = new Map([...topicIds].map(([name, id]) => [id, name]));
    for (const topicResponse of response.responses) {
      const topic = topicOf.get(topicResponse.topicId) ?? topicResponse.topicId;
      for (const fetched of topicResponse.partitions) {
        const r = requested.find(
          (q) => q.cursor.tp.topic === topic && q.cursor.tp.partition === fetched.partitionIndex,
        );
        if (!r || !this.stillWanted(r)) continue;
        const { records, next } = decodePartition(topic, fetched, r.offset);
        if (records.length === 0) {
          // Only control records (or nothing new): step over them.
          if (next > r.offset) r.cursor.position = next;
          continue;
        }
        this.handle(r, records, fetched.highWatermark, next);
      }
    }
  }

  private stillWanted(r: Requested): boolean {
    const c = r.cursor;
    return (
      !this.stopping &&
      !this.rebalancing &&
      !c.revoked &&
      c.seeks === r.seeks &&
      c.position === r.offset &&
      !this.paused.has(c.key)
    );
  }

  private handle(r: Requested, records: FetchedBatch['records'], highWatermark: bigint, next: bigint): void {
    const handlers = this.handlers as ConsumerHandlers;
    const cursor = r.cursor;
    const last = BigInt((records.at(-1) as FetchedBatch['records'][number]).offset);
    let resolved: bigint | undefined;
    cursor.handling = true;
    const batch: FetchedBatch = {
      topic: cursor.tp.topic,
      partition: cursor.tp.partition,
      records,
      highWatermark: highWatermark.toString(),
      resolveOffset: (offset) => {
        const o = BigInt(offset);
        if (resolved === undefined || o > resolved) resolved = o;
      },
      heartbeat: async () => {
        if (this.rebalancing || cursor.revoked) throw new RebalanceInProgressError();
      },
      isStale: () => cursor.revoked || cursor.seeks !== r.seeks,
    };
    const handled = (async () => {
      await this.lifecycle;
      if (this.stopping || cursor.revoked) return;
      await handlers.onBatch(batch);
    })()
      .catch((error: unknown) => {
        // Interrupted by a rebalance (heartbeat) or after revocation: the records come again.
        if (error instanceof RebalanceInProgressError || cursor.revoked || this.rebalancing) return;
        this.crash(error);
      })
      .finally(() => {
        this.inFlight.delete(handled);
        cursor.handling = false;
        if (!cursor.revoked && cursor.seeks === r.seeks && resolved !== undefined && resolved >= r.offset) {
          cursor.position = resolved >= last ? (next > resolved ? next : resolved + 1n) : resolved + 1n;
        }
        this.pump();
      });
    this.inFlight.add(handled);
  }

  /**
   * A fetch failed after the library's own retries. An offset outside the log (retention deleted
   * it) restarts the partition at the earliest offset, as kafkajs does when reading from the
   * beginning; other failures pause fetching briefly, and persistent ones crash the consumer.
   */
  private fetchFailed(error: unknown, requested: readonly Requested[], topicIds: Map<string, string>): void {
    if (this.stopping || this.crashed) return;
    const topicOf = new Map([...topicIds].map(([name, id]) => [id, name]));
    const response = (error as { response?: FetchResponse }).response;
    let reset = false;
    for (const topicResponse of response?.responses ?? []) {
      const topic = topicOf.get(topicResponse.topicId) ?? topicResponse.topicId;
      for (const fetched of topicResponse.partitions) {
        if (fetched.errorCode !== OFFSET_OUT_OF_RANGE) continue;
        const r = requested.find(
          (q) => q.cursor.tp.topic === topic && q.cursor.tp.partition === fetched.partitionIndex && this.stillWanted(q),
        );
        if (!r) continue;
        reset = true;
        this.options.log.warn(
          { partition: r.cursor.key, offset: r.offset.toString(), earliest: fetched.logStartOffset.toString() },
          'offset out of range, restarting the partition at the earliest offset',
        );
        if (fetched.logStartOffset >= 0n) r.cursor.position = fetched.logStartOffset;
        else {
          r.cursor.position = undefined;
          void this.loadPositions([r.cursor]);
        }
      }
    }
    if (reset) return;
    this.fetchFailures += 1;
    if (this.fetchFailures >= 3) {
      this.crash(error);
      return;
    }
    const delay = retryDelay(undefined, 'fetch', this.fetchFailures);
    this.options.log.warn(
      { err: classifyPlatformaticError(error).message, failures: this.fetchFailures, delayMs: delay },
      'fetch failed, retrying',
    );
    this.backoffUntil = Date.now() + delay;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.pump(), delay);
  }
}
