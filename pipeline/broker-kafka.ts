/**
 * The broker port on kafkajs (2.2.x). The only module that imports kafkajs, so the client can be
 * swapped. Producer: idempotent, acks from all in-sync replicas, one request in flight (kafkajs
 * requires it for idempotence). Consumer: eachBatch, no auto-commit, no auto-resolve.
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Logger } from 'pino';
import type {
  AdminPort,
  Broker,
  ConsumerHandlers,
  ConsumerPort,
  GroupMemberInfo,
  ProduceRecord,
  ProducerPort,
} from './broker.js';
import { FatalError, TransientError } from './errors.js';
import { partitionForKey } from './murmur2.js';
import { maxRequestBytes, sliceBySize } from './produce-slices.js';
import { ServiceUnreachableError, type StartupWaitOptions, waitUntilReachable } from './service-unreachable.js';
import type { RawRecord, StoredOffset, TopicPartition } from './stage.js';
import type { TopicSpec } from './topics.js';

export { sliceBySize } from './produce-slices.js';

const { Kafka, logLevel, AssignerProtocol } = kafkajs;
type KafkaClient = InstanceType<typeof Kafka>;

export interface KafkaBrokerOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly log: Logger;
  /** Upper bound of partitions one worker processes at the same time (kafkajs workers). */
  readonly partitionsConsumedConcurrently?: number;
  readonly sessionTimeoutMs?: number;
  readonly maxBytesPerPartition?: number;
  /** Longest a fetch waits for data; short so a resumed (retrying) partition is fetched soon. */
  readonly maxWaitTimeMs?: number;
}

/** kafkajs errors worth retrying: its own `retriable` flag plus connection-level failures. */
const transientNames = new Set([
  'KafkaJSConnectionError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSConnectionClosedError',
  'KafkaJSLockTimeout',
]);

export function classifyKafkaError(error: unknown): Error {
  const e = error as { name?: string; message?: string; retriable?: boolean; type?: string };
  const message = `kafka: ${e?.message ?? String(error)}`;
  if (e?.retriable || transientNames.has(e?.name ?? ''))
    return new TransientError(message, e?.type ?? 'kafka_transient', { cause: error });
  return new FatalError(message, e?.type ?? 'kafka_fatal', { cause: error });
}

/** The innermost message of a kafkajs error chain (`cause`, `originalError`): the socket's own words. */
export function kafkaRootReason(error: unknown): string {
  let current = error as { message?: string; cause?: unknown; originalError?: unknown } | undefined;
  for (let depth = 0; depth < 5; depth++) {
    const next = (current?.cause ?? current?.originalError) as typeof current;
    if (!next || typeof next !== 'object') break;
    current = next;
  }
  return (current?.message ?? String(error)).replace(/^Connection error: /, '');
}

const toBuffer = (v: Buffer | string | null | undefined): Buffer | null =>
  v === null || v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);

const knownAdvice = ['KafkaJS v2.0.0 switched default partitioner', 'Limiting retries for the idempotent producer'];

function pinoLogCreator(log: Logger) {
  const child = log.child({ component: 'kafkajs' });
  return () =>
    ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...rest } = entry;
      // Advice we have considered (see docs/stage-spec.md) is not worth a warning on every start.
      if (knownAdvice.some((advice) => message.startsWith(advice))) child.debug(rest, message);
      else if (level <= logLevel.ERROR) child.error(rest, message);
      else if (level === logLevel.WARN) child.warn(rest, message);
      else child.debug(rest, message);
    };
}

/**
 * Kafka's default key partitioning (same partitions as the Java client and Redpanda's), on our
 * fast murmur2; keyless records go round-robin over the available partitions.
 */
const keyPartitioner: kafkajs.ICustomPartitioner = () => {
  let counter = 0;
  return ({ partitionMetadata, message }) => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const key = message.key;
    if (key !== undefined && key !== null) {
      return partitionForKey(typeof key === 'string' ? Buffer.from(key) : key, partitionMetadata.length);
    }
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    const pool = available.length > 0 ? available : partitionMetadata;
    counter = (counter + 1) & 0x7fffffff;
    return (pool[counter % pool.length] as { partitionId: number }).partitionId;
  };
};

export class KafkaBroker implements Broker {
  readonly kafka: KafkaClient;

  constructor(readonly options: KafkaBrokerOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      logLevel: logLevel.WARN,
      logCreator: pinoLogCreator(options.log),
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
  }

  /**
   * One metadata round trip on a throw-away client with no retries and no logging: kafkajs's own
   * retries would print a page of connection errors before failing. Throws ServiceUnreachableError.
   */
  async probe(timeoutMs = 3_000): Promise<void> {
    const kafka = new Kafka({
      clientId: `${this.options.clientId}-probe`,
      brokers: [...this.options.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.listTopics();
    } catch (error) {
      throw new ServiceUnreachableError('Kafka', this.options.brokers.join(','), kafkaRootReason(error), {
        cause: error,
      });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Probes until a broker answers (a worker's start-up), as `waitUntilReachable` describes. */
  waitUntilReachable(options: Omit<StartupWaitOptions, 'service' | 'address'>): Promise<void> {
    return waitUntilReachable(
      () => this.probe(),
      (error) => (error instanceof ServiceUnreachableError ? error.reason : undefined),
      { ...options, service: 'Kafka', address: this.options.brokers.join(',') },
    );
  }

  consumer(options: { groupId: string }): ConsumerPort {
    return new KafkaConsumer(this.kafka, options.groupId, this.options);
  }

  producer(): ProducerPort {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: keyPartitioner,
    });
    return {
      connect: () => producer.connect(),
      disconnect: () => producer.disconnect(),
      async send(records: readonly ProduceRecord[]) {
        // One request per size-bounded slice, in order: a whole fetched batch's outputs can exceed
        // the broker's message.max.bytes (1 MiB by default) for one partition. Order within a
        // partition holds because the slices are sent one after the other.
        for (const slice of sliceBySize(records, maxRequestBytes)) {
          const byTopic = new Map<
            string,
            { key: Buffer | null; value: Buffer | string | null; headers: Record<string, Buffer | string> }[]
          >();
          for (const r of slice) {
            const messages = byTopic.get(r.topic) ?? [];
            messages.push({
              // The key is hashed for the partition, so bytes once here; a text value is written
              // into the request as it is (a Buffer first would be one more copy per record).
              key: toBuffer(r.key),
              value: r.value ?? null,
              headers: (r.headers ?? {}) as Record<string, Buffer | string>,
            });
            byTopic.set(r.topic, messages);
          }
          try {
            await producer.sendBatch({
              acks: -1,
              topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
            });
          } catch (error) {
            throw classifyKafkaError(error);
          }
        }
      },
    };
  }

  admin(): AdminPort {
    const admin = this.kafka.admin();
    return {
      connect: () => admin.connect(),
      disconnect: () => admin.disconnect(),
      async ensureTopics(specs: readonly TopicSpec[]) {
        const existing = new Set(await admin.listTopics());
        const missing = specs.filter((s) => !existing.has(s.topic));
        if (missing.length === 0) return;
        try {
          await admin.createTopics({
            waitForLeaders: true,
            topics: missing.map((s) => ({
              topic: s.topic,
              numPartitions: s.partitions,
              replicationFactor: s.replicationFactor,
            })),
          });
        } catch (error) {
          // Another worker may have created them in the meantime.
          if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
        }
      },
      listTopics: () => admin.listTopics(),
      async topicOffsets(topic) {
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets
          .map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
          .sort((a, b) => a.partition - b.partition);
      },
      async groupOffsets(groupId, topic) {
        const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return (result?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset }));
      },
      async groupMembers(groupId): Promise<GroupMemberInfo[]> {
        const { groups } = await admin.describeGroups([groupId]);
        return (groups[0]?.members ?? []).map((m) => {
          const decoded =
            m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
          const assignment = Object.entries(decoded?.assignment ?? {}).flatMap(([topic, partitions]) =>
            (partitions as number[]).map((partition) => ({ topic, partition })),
          );
          return { memberId: m.memberId, clientId: m.clientId, host: m.clientHost, assignment };
        });
      },
    };
  }

  /** Reads what `topic` holds now with a throw-away group, then deletes the group. */
  async readTopic(topic: string): Promise<readonly RawRecord[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      const remaining = new Map(
        offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]),
      );
      if (remaining.size === 0) return [];
      const groupId = `eaio-reader-${randomUUID()}`;
      const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false });
      const records: RawRecord[] = [];
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (const m of batch.messages) records.push(toRawRecord(batch.topic, batch.partition, m));
              const end = remaining.get(batch.partition);
              if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) remaining.delete(batch.partition);
              if (remaining.size === 0) resolve();
            },
          })
          .catch(reject);
      });
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
      return records.filter((r) => BigInt(r.offset) < (ends.get(r.partition) ?? 0n));
    } finally {
      await admin.disconnect();
    }
  }
}

interface KafkaMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  timestamp: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

function toRawRecord(topic: string, partition: number, m: KafkaMessage): RawRecord {
  const headers: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    const single = Array.isArray(value) ? value[value.length - 1] : value;
    if (single !== undefined) headers[name] = toBuffer(single) as Buffer;
  }
  return { topic, partition, offset: m.offset, key: m.key, value: m.value, headers, timestamp: Number(m.timestamp) };
}

class KafkaConsumer implements ConsumerPort {
  private readonly consumer;
  private assigned: TopicPartition[] = [];
  /** Assignment hooks run in order, and batches wait for them (kafkajs does not await listeners). */
  private assignment: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    kafka: KafkaClient,
    readonly groupId: string,
    private readonly options: KafkaBrokerOptions,
  ) {
    this.consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1_000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 100,
      // A crash goes to the runner, which stops the worker instead of kafkajs restarting silently.
      retry: { retries: 8, restartOnFailure: async () => false },
    });
  }

  connect(): Promise<void> {
    return this.consumer.connect();
  }

  subscribe(topics: readonly string[]): Promise<void> {
    return this.consumer.subscribe({ topics: [...topics], fromBeginning: true });
  }

  async run(handlers: ConsumerHandlers): Promise<void> {
    const { events } = this.consumer;
    this.consumer.on(events.REBALANCING, () => {
      this.assignment = this.assignment.then(() => handlers.onRebalancing());
    });
    this.consumer.on(events.GROUP_JOIN, ({ payload }) => {
      const next = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
        (partitions as number[]).map((partition) => ({ topic, partition })),
      );
      const previous = this.assigned;
      this.assigned = next;
      // kafkajs rebalances eagerly and restarts every partition from its committed offset, so
      // every join is a full revoke of the old assignment and a full assignment of the new one.
      this.assignment = this.assignment.then(async () => {
        if (previous.length > 0) await handlers.onRevoked(previous);
        await handlers.onAssigned(next);
      });
    });
    this.consumer.on(events.CRASH, ({ payload }) => {
      if (!payload.restart) handlers.onCrash(payload.error);
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 64,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isStale }) => {
        await this.assignment;
        if (this.stopping) return;
        const handled = handlers.onBatch({
          topic: batch.topic,
          partition: batch.partition,
          highWatermark: batch.highWatermark,
          records: batch.messages.map((m) => toRawRecord(batch.topic, batch.partition, m)),
          resolveOffset,
          heartbeat,
          isStale,
        });
        this.inFlight.add(handled);
        try {
          await handled;
        } finally {
          this.inFlight.delete(handled);
        }
      },
    });
  }

  pause(tp: TopicPartition): void {
    this.consumer.pause([{ topic: tp.topic, partitions: [tp.partition] }]);
  }

  resume(tp: TopicPartition): void {
    this.consumer.resume([{ topic: tp.topic, partitions: [tp.partition] }]);
  }

  seek(offset: StoredOffset): void {
    this.consumer.seek({ topic: offset.topic, partition: offset.partition, offset: offset.offset });
  }

  async commit(offsets: readonly StoredOffset[]): Promise<void> {
    await this.consumer.commitOffsets(
      offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
    );
  }

  /**
   * kafkajs's stop() leaves the group right after its last batch, after which commits fail. So:
   * pause everything (no new fetches), wait for our in-flight handlers, commit, then stop.
   */
  async stop(beforeLeave?: () => Promise<void>): Promise<void> {
    this.stopping = true;
    const byTopic = new Map<string, number[]>();
    for (const tp of this.assigned) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    if (byTopic.size > 0) this.consumer.pause([...byTopic].map(([topic, partitions]) => ({ topic, partitions })));
    await Promise.allSettled([...this.inFlight]);
    await beforeLeave?.();
    await this.consumer.stop();
  }

  disconnect(): Promise<void> {
    return this.consumer.disconnect();
  }
}
