import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../config/load.js';
import { KafkaBroker } from '../../pipeline/broker-kafka.js';
import { PlatformaticBroker } from '../../pipeline/broker-platformatic.js';
import { kafkaBrokerFromEnv } from '../../pipeline/env.js';
import { FatalError, TransientError } from '../../pipeline/errors.js';
import {
  classifyPlatformaticError,
  decodePartition,
  type FetchedPartition,
  platformaticRootReason,
  platformaticRunsOn,
} from '../../pipeline/platformatic-client.js';

// Counts loads of the package in this file (a stand-in without clients): only a connect may load it.
const loads = vi.hoisted(() => ({ count: 0 }));
vi.mock('@platformatic/kafka', () => {
  loads.count += 1;
  return {};
});

const log = pino({ level: 'silent' });
const env = { KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_CLIENT_ID: 'eaio-test' };

describe('choosing the Kafka client', () => {
  it('knows the Node.js lines the package supports', () => {
    for (const v of ['20.19.5', '22.21.0', '23.11.0', '24.5.0']) expect(platformaticRunsOn(v)).toBe(false);
    for (const v of ['22.22.0', '24.6.0', '24.22.3', '25.1.0']) expect(platformaticRunsOn(v)).toBe(true);
  });

  it('builds kafkajs unless KAFKA_CLIENT says platformatic, and never loads the package for it', () => {
    expect(kafkaBrokerFromEnv(env, log)).toBeInstanceOf(KafkaBroker);
    expect(kafkaBrokerFromEnv({ ...env, KAFKA_CLIENT: 'kafkajs' }, log)).toBeInstanceOf(KafkaBroker);
    expect(loads.count).toBe(0);
  });

  it('builds platformatic on a Node.js that runs it, else explains the fix in one line', () => {
    const build = () => kafkaBrokerFromEnv({ ...env, KAFKA_CLIENT: 'platformatic' }, log);
    if (platformaticRunsOn(process.versions.node)) expect(build()).toBeInstanceOf(PlatformaticBroker);
    else {
      expect(build).toThrow(ConfigError);
      expect(build).toThrow(/needs Node\.js 22\.22\+ or 24\.6\+.*set KAFKA_CLIENT=kafkajs/);
    }
  });

  it('loads the package only when a client connects', async () => {
    const broker = new PlatformaticBroker({ brokers: ['127.0.0.1:1'], clientId: 'eaio-test', log });
    const ports = [broker.consumer({ groupId: 'g' }), broker.producer(), broker.admin()];
    expect(loads.count).toBe(0);
    if (platformaticRunsOn(process.versions.node)) {
      // The stand-in has no clients, so connecting fails right after the load.
      for (const port of ports) await expect(port.connect()).rejects.toThrow();
      expect(loads.count).toBe(1);
    } else {
      for (const port of ports) await expect(port.connect()).rejects.toThrow(/needs Node\.js 22\.22\+/);
      await expect(broker.readTopic('t')).rejects.toThrow(/set KAFKA_CLIENT=kafkajs/);
      expect(loads.count).toBe(0);
    }
  });
});

describe('platformatic errors', () => {
  // Shapes of the library's errors (dist/errors.js): GenericError has `code` and flags,
  // MultipleErrors collects each attempt in `errors`.
  const network = { code: 'PLT_KFK_NETWORK', message: 'Connection error', canRetry: true };
  const protocol = (apiId: string, canRetry: boolean, extra = {}) => ({
    code: 'PLT_KFK_PROTOCOL',
    message: `broker said ${apiId}`,
    apiId,
    canRetry,
    ...extra,
  });
  const attempts = (...errors: object[]) => ({ code: 'PLT_KFK_MULTIPLE', message: 'produce failed 3 times.', errors });

  it('retries network trouble, timeouts, rebalances and retriable broker answers', () => {
    for (const error of [
      network,
      { code: 'PLT_KFK_NETWORK', message: 'Request timed out', canRetry: false },
      attempts(network, network),
      attempts(protocol('NOT_ENOUGH_REPLICAS', true)),
      protocol('REBALANCE_IN_PROGRESS', true, { needsRejoin: true }),
    ])
      expect(classifyPlatformaticError(error)).toBeInstanceOf(TransientError);
    expect((classifyPlatformaticError(attempts(protocol('NOT_ENOUGH_REPLICAS', true))) as TransientError).code).toBe(
      'NOT_ENOUGH_REPLICAS',
    );
  });

  it('stops on what retrying cannot fix', () => {
    for (const error of [
      protocol('TOPIC_AUTHORIZATION_FAILED', false),
      attempts(protocol('MESSAGE_TOO_LARGE', false)),
      { code: 'PLT_KFK_NETWORK', message: 'Client is closed.', canRetry: false, closed: true },
      { code: 'PLT_KFK_USER', message: 'bad options', canRetry: false },
      new Error('plain'),
    ])
      expect(classifyPlatformaticError(error)).toBeInstanceOf(FatalError);
  });

  it("reports the last attempt's innermost words", () => {
    const refused = { ...network, cause: new Error('connect ECONNREFUSED 127.0.0.1:1') };
    expect(platformaticRootReason(attempts(network, refused))).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(platformaticRootReason(attempts(protocol('NOT_ENOUGH_REPLICAS', true)))).toBe(
      'broker said NOT_ENOUGH_REPLICAS',
    );
  });
});

describe('decoding fetched partitions', () => {
  const record = (offsetDelta: number, value: string, headers: [Buffer | null, Buffer | null][] = []) => ({
    length: 0,
    attributes: 0,
    timestampDelta: BigInt(offsetDelta),
    offsetDelta,
    key: Buffer.from('k'),
    value: Buffer.from(value),
    headers,
  });
  const batch = (firstOffset: bigint, attributes: number, records: ReturnType<typeof record>[]) => ({
    firstOffset,
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: records.length - 1,
    firstTimestamp: 1_000n,
    maxTimestamp: 9_000n,
    producerId: -1n,
    producerEpoch: -1,
    firstSequence: 0,
    records,
  });
  const partition = (batches: ReturnType<typeof batch>[]) =>
    ({
      partitionIndex: 2,
      errorCode: 0,
      highWatermark: 20n,
      lastStableOffset: 20n,
      logStartOffset: 0n,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: batches,
    }) as unknown as FetchedPartition;

  it('skips records before the position asked for, steps over control batches, keeps headers', () => {
    const fetched = partition([
      batch(10n, 0, [record(0, 'a'), record(1, 'b'), record(2, 'c', [[Buffer.from('trace'), Buffer.from('t12')]])]),
      batch(13n, 0x20, [record(0, 'commit marker')]),
    ]);
    const { records, next } = decodePartition('in', fetched, 11n);
    expect(records.map((r) => [r.offset, String(r.value), r.timestamp])).toEqual([
      ['11', 'b', 1_001],
      ['12', 'c', 1_002],
    ]);
    expect(records[1]?.headers.trace?.toString()).toBe('t12');
    expect(records[0]).toMatchObject({ topic: 'in', partition: 2 });
    expect(next).toBe(14n);
  });

  it('uses the batch time for log-append-time topics', () => {
    const { records } = decodePartition('in', partition([batch(0n, 0x08, [record(0, 'a')])]), 0n);
    expect(records[0]?.timestamp).toBe(9_000);
  });

  it('returns no records and the same position when nothing came', () => {
    expect(decodePartition('in', partition([]), 5n)).toEqual({ records: [], next: 5n });
  });
});
