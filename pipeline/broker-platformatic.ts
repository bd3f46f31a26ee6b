/**
 * The broker port on @platformatic/kafka 2.x, the second adapter beside kafkajs (KAFKA_CLIENT).
 * The package is imported on first use (`loadPlatformatic`), so this module loads on any Node.js.
 * Producer: idempotent, acks from all in-sync replicas, keys partitioned with Kafka's murmur2 like
 * kafkajs and the Java client. Consumer: `platformatic-consumer.ts`.
 */
import type { Admin, ClusterMetadata, ConnectionPool, Consumer, Producer } from '@platformatic/kafka';
import type {
  AdminPort,
  Broker,
  ConsumerPort,
  GroupMemberInfo,
  PartitionOffsets,
  ProduceRecord,
  ProducerPort,
} from './broker.js';
import { TransientError } from './errors.js';
import {
  classifyPlatformaticError,
  decodePartition,
  loadPlatformatic,
  type PlatformaticKafka,
  platformaticRootReason,
  retryDelay,
} from './platformatic-client.js';
import { PlatformaticConsumer, type PlatformaticConsumerOptions } from './platformatic-consumer.js';
import { maxRequestBytes, sliceBySize } from './produce-slices.js';
import { ServiceUnreachableError, type StartupWaitOptions, waitUntilReachable } from './service-unreachable.js';
import type { RawRecord } from './stage.js';
import type { TopicSpec } from './topics.js';

/** The consumer's options without its group: the broker names the group per consumer. */
export type PlatformaticBrokerOptions = Omit<PlatformaticConsumerOptions, 'groupId'>;

type Bytes = Buffer | string | null;

const toBuffer = (v: Bytes | undefined): Buffer | undefined =>
  v === null || v === undefined ? undefined : Buffer.isBuffer(v) ? v : Buffer.from(v);

/** Keys, values and headers go out as given: text is encoded once, here. */
const serializers = { key: toBuffer, value: toBuffer, headerKey: toBuffer, headerValue: toBuffer };

const partitionsOf = (metadata: ClusterMetadata, topic: string): number[] =>
  Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 0 }, (_, i) => i);

export class PlatformaticBroker implements Broker {
  constructor(readonly options: PlatformaticBrokerOptions) {}

  private base() {
    return { clientId: this.options.clientId, bootstrapBrokers: [...this.options.brokers], retries: 8, retryDelay };
  }

  /** One metadata round trip without retries. Throws ServiceUnreachableError. */
  async probe(timeoutMs = 3_000): Promise<void> {
    const kafka = await loadPlatformatic();
    const admin = new kafka.Admin({
      ...this.base(),
      clientId: `${this.options.clientId}-probe`,
      retries: 0,
      connectTimeout: timeoutMs,
      timeout: timeoutMs,
    });
    try {
      await admin.listTopics();
    } catch (error) {
      throw new ServiceUnreachableError('Kafka', this.options.brokers.join(','), platformaticRootReason(error), {
        cause: error,
      });
    } finally {
      await admin.close().catch(() => undefined);
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

  consumer(options: { groupId: string; clientId?: string }): ConsumerPort {
    return new PlatformaticConsumer({
      ...this.options,
      clientId: options.clientId ?? this.options.clientId,
      groupId: options.groupId,
    });
  }

  producer(): ProducerPort {
    let producer: Producer<Bytes, Bytes, Bytes, Bytes> | undefined;
    const base = this.base();
    return {
      async connect() {
        const kafka = await loadPlatformatic();
        const created = new kafka.Producer<Bytes, Bytes, Bytes, Bytes>({
          ...base,
          idempotent: true,
          acks: kafka.ProduceAcks.ALL,
          autocreateTopics: false,
          partitioner: keyPartitioner(kafka),
          serializers,
        });
        producer = created;
        await created.metadata({ topics: [] }).catch((error: unknown) => {
          throw classifyPlatformaticError(error);
        });
      },
      async disconnect() {
        await producer?.close().catch(() => undefined);
      },
      async send(records: readonly ProduceRecord[]) {
        const client = producer;
        if (!client) throw new TransientError('kafka: producer used before connect()', 'not_connected');
        // In order, one size-bounded request after the other: order within a partition holds.
        for (const slice of sliceBySize(records, maxRequestBytes)) {
          try {
            await client.send({
              messages: slice.map((r) => ({
                topic: r.topic,
                key: r.key,
                value: r.value,
                ...(r.headers ? { headers: r.headers as Record<string, Bytes> } : {}),
              })),
            });
          } catch (error) {
            throw classifyPlatformaticError(error);
          }
        }
      },
    };
  }

  admin(): AdminPort {
    let admin: Admin | undefined;
    const base = this.base();
    const client = () => {
      if (!admin) throw new Error('kafka admin used before connect()');
      return admin;
    };
    const metadataOf = (topics: string[]) => client().metadata({ topics });
    return {
      async connect() {
        const kafka = await loadPlatformatic();
        admin = new kafka.Admin(base);
        await admin.metadata({ topics: [] }).catch((error: unknown) => {
          throw classifyPlatformaticError(error);
        });
      },
      async disconnect() {
        await admin?.close().catch(() => undefined);
      },
      async ensureTopics(specs: readonly TopicSpec[]) {
        const existing = new Set(await client().listTopics());
        const missing = specs.filter((s) => !existing.has(s.topic));
        if (missing.length === 0) return;
        try {
          await client().createTopics({
            topics: missing.map((s) => ({ topic: s.topic, partitions: s.partitions, replicas: s.replicationFactor })),
          });
        } catch (error) {
          // Another worker may have created them in the meantime.
          const text = `${platformaticRootReason(error)} ${JSON.stringify(error)}`;
          if (!text.includes('TOPIC_ALREADY_EXISTS')) throw classifyPlatformaticError(error);
        }
        await waitForLeaders(client(), missing);
      },
      listTopics: () => client().listTopics(),
      async topicOffsets(topic): Promise<PartitionOffsets[]> {
        const partitions = partitionsOf(await metadataOf([topic]), topic);
        const list = async (timestamp: bigint) => {
          const [listed] = await client().listOffsets({
            topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
          });
          return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, p.offset]));
        };
        const [low, high] = await Promise.all([list(-2n), list(-1n)]);
        return partitions.map((partition) => ({
          partition,
          low: String(low.get(partition) ?? 0n),
          high: String(high.get(partition) ?? 0n),
        }));
      },
      async groupOffsets(groupId, topic) {
        const partitions = partitionsOf(await metadataOf([topic]), topic);
        const [group] = await client().listConsumerGroupOffsets({
          groups: [{ groupId, topics: [{ name: topic, partitionIndexes: partitions }] }],
        });
        const committed = new Map(
          (group?.topics.find((t) => t.name === topic)?.partitions ?? []).map((p) => [
            p.partitionIndex,
            p.committedOffset,
          ]),
        );
        return partitions.map((partition) => ({ partition, offset: String(committed.get(partition) ?? -1n) }));
      },
      async groupMembers(groupId): Promise<GroupMemberInfo[]> {
        const groups = await client().describeGroups({ groups: [groupId] });
        const group = groups.get(groupId);
        return [...(group?.members.values() ?? [])].map((m) => ({
          memberId: m.id,
          clientId: m.clientId,
          host: m.clientHost,
          assignment: [...(m.assignments?.values() ?? [])].flatMap((a) =>
            a.partitions.map((partition) => ({ topic: a.topic, partition })),
          ),
        }));
      },
    };
  }

  /** Reads what `topic` holds now, partition by partition, without a consumer group. */
  async readTopic(topic: string): Promise<readonly RawRecord[]> {
    const kafka = await loadPlatformatic();
    const reader = new kafka.Consumer({ ...this.base(), groupId: `eaio-reader-${topic}`, autocommit: false });
    const pool = new kafka.ConnectionPool(this.options.clientId, { connectTimeout: 5_000 });
    try {
      const [low, high] = await Promise.all([
        reader.listOffsets({ topics: [topic], timestamp: -2n }),
        reader.listOffsets({ topics: [topic], timestamp: -1n }),
      ]);
      const positions = new Map<number, { next: bigint; end: bigint }>();
      for (const [partition, end] of (high.get(topic) ?? []).entries()) {
        const start = low.get(topic)?.[partition] ?? 0n;
        if (end !== undefined && end > start) positions.set(partition, { next: start, end });
      }
      const records: RawRecord[] = [];
      const deadline = Date.now() + 120_000;
      while (positions.size > 0) {
        if (Date.now() > deadline) throw new TransientError(`kafka: reading ${topic} made no progress`, 'read_stalled');
        await fetchRound(reader, pool, topic, positions, records);
      }
      return records;
    } catch (error) {
      throw classifyPlatformaticError(error);
    } finally {
      await pool.close().catch(() => undefined);
      await reader.close(true).catch(() => undefined);
    }
  }
}

/**
 * Kafka's default key partitioning (murmur2 masked to 31 bits, as kafkajs and the Java client do:
 * the library's `compatibilityPartitioner`; the library takes it modulo the partition count).
 * Keyless records go round-robin.
 */
function keyPartitioner(kafka: PlatformaticKafka) {
  let counter = 0;
  return (message: unknown, key: Buffer | undefined): number => {
    if (key !== undefined) return kafka.compatibilityPartitioner(message as never, key);
    counter = (counter + 1) & 0x7fffffff;
    return counter;
  };
}

/** Waits (bounded) until every new topic's partitions have a leader, as kafkajs's waitForLeaders. */
async function waitForLeaders(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const topics = specs.map((s) => s.topic);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const metadata = await admin.metadata({ topics, forceUpdate: true }).catch(() => undefined);
    const ready = specs.every((s) => {
      const t = metadata?.topics.get(s.topic);
      return t !== undefined && t.partitionsCount >= s.partitions && t.partitions.every((p) => p.leader >= 0);
    });
    if (ready || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One fetch per leader for the partitions not read to their end yet; appends what it got. */
async function fetchRound(
  reader: Consumer,
  pool: ConnectionPool,
  topic: string,
  positions: Map<number, { next: bigint; end: bigint }>,
  records: RawRecord[],
): Promise<void> {
  const metadata = await reader.metadata({ topics: [topic] });
  const info = metadata.topics.get(topic);
  if (!info) throw new TransientError(`kafka: topic ${topic} has no metadata`, 'unknown_topic');
  const byLeader = new Map<number, number[]>();
  for (const partition of positions.keys()) {
    const leader = info.partitions[partition]?.leader ?? -1;
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
  }
  await Promise.all(
    [...byLeader].map(async ([node, partitions]) => {
      const response = await reader.fetch({
        node,
        connectionPool: pool,
        maxWaitTime: 100,
        topics: [
          {
            topicId: info.id,
            partitions: partitions.map((partition) => ({
              partition,
              fetchOffset: (positions.get(partition) as { next: bigint }).next,
              partitionMaxBytes: 1_048_576,
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
            })),
          },
        ],
      });
      for (const fetched of response.responses.flatMap((t) => t.partitions)) {
        const position = positions.get(fetched.partitionIndex);
        if (!position) continue;
        const { records: got, next } = decodePartition(topic, fetched, position.next);
        for (const r of got) if (BigInt(r.offset) < position.end) records.push(r);
        position.next = next;
        if (next >= position.end) positions.delete(fetched.partitionIndex);
      }
    }),
  );
}
