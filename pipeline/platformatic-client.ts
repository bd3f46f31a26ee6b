/**
 * What the @platformatic/kafka adapter modules share: loading the package only when chosen (it needs
 * a newer Node.js than kafkajs users may run), the mapping of its errors onto TransientError and
 * FatalError, and the decoding of fetched record batches into RawRecords.
 */
import type { Consumer } from '@platformatic/kafka';
import { FatalError, TransientError } from './errors.js';
import type { RawRecord } from './stage.js';

export type PlatformaticKafka = typeof import('@platformatic/kafka');
export type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
export type FetchedPartition = FetchResponse['responses'][number]['partitions'][number];

/** The Node.js lines the package supports (its README: 22.22.0 or above, 24.6.0 or above). */
export function platformaticRunsOn(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return (major === 22 && minor >= 22) || (major === 24 && minor >= 6) || major >= 25;
}

/** Throws the one-line explanation when this Node.js cannot run the package. */
export function assertPlatformaticRuns(version = process.versions.node): void {
  if (!platformaticRunsOn(version))
    throw new FatalError(
      `KAFKA_CLIENT=platformatic needs Node.js 22.22+ or 24.6+, this is ${version}: run a newer Node.js or set KAFKA_CLIENT=kafkajs`,
      'node_version',
    );
}

let loading: Promise<PlatformaticKafka> | undefined;

/** The package, imported on first use: kafkajs users never load it. */
export function loadPlatformatic(): Promise<PlatformaticKafka> {
  assertPlatformaticRuns();
  loading ??= import('@platformatic/kafka');
  return loading;
}

interface LibraryError {
  message?: string;
  code?: string;
  apiId?: string;
  canRetry?: boolean;
  needsRejoin?: boolean;
  closed?: boolean;
  errors?: unknown[];
  cause?: unknown;
}

/** Depth-first search of the library's nested errors (retries collect them in `errors`). */
function findError(error: unknown, match: (e: LibraryError) => boolean, depth = 0): LibraryError | undefined {
  if (!error || typeof error !== 'object' || depth > 6) return undefined;
  const e = error as LibraryError;
  if (match(e)) return e;
  for (const inner of [...(Array.isArray(e.errors) ? e.errors : []), e.cause]) {
    const found = findError(inner, match, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The most specific words of an error chain: the last attempt's innermost message. */
export function platformaticRootReason(error: unknown): string {
  let current = error as LibraryError | undefined;
  for (let depth = 0; depth < 6; depth++) {
    const inner = Array.isArray(current?.errors) && current.errors.length > 0 ? current.errors.at(-1) : current?.cause;
    if (!inner || typeof inner !== 'object') break;
    current = inner as LibraryError;
  }
  const base = current?.message ?? String(error);
  return current?.apiId && !base.includes(current.apiId) ? `${base} (${current.apiId})` : base;
}

/**
 * Worth retrying: network trouble and timeouts, a group rebalancing, and broker answers the
 * library marks retriable (no error in the chain says otherwise). A closed client is final.
 */
export function isTransientPlatformaticError(error: unknown): boolean {
  if (findError(error, (e) => e.closed === true)) return false;
  if (findError(error, (e) => e.code === 'PLT_KFK_NETWORK' || e.code === 'PLT_KFK_TIMEOUT')) return true;
  if (findError(error, (e) => e.needsRejoin === true)) return true;
  return !findError(error, (e) => e.canRetry === false) && !!findError(error, (e) => e.canRetry === true);
}

export function classifyPlatformaticError(error: unknown): Error {
  if (error instanceof TransientError || error instanceof FatalError) return error;
  const message = `kafka: ${platformaticRootReason(error)}`;
  const code = findError(error, (e) => typeof e.apiId === 'string')?.apiId;
  if (isTransientPlatformaticError(error))
    return new TransientError(message, code ?? 'kafka_transient', { cause: error });
  return new FatalError(message, code ?? 'kafka_fatal', { cause: error });
}

/** The library's retry pause: 200 ms doubling to 5 s, like the kafkajs adapter's. */
export const retryDelay = (_client: unknown, _operation: string, attempt: number): number =>
  Math.min(5_000, 200 * 2 ** Math.max(0, attempt - 1));

// Record batch attribute bits (Kafka protocol, RecordBatch `attributes`).
const CONTROL_BATCH = 0x20;
const LOG_APPEND_TIME = 0x08;

/**
 * The records of one fetched partition at or after `from` (a compressed batch starts before the
 * offset asked for), and the offset after the last batch returned, control batches included.
 */
export function decodePartition(
  topic: string,
  fetched: FetchedPartition,
  from: bigint,
): { records: RawRecord[]; next: bigint } {
  const records: RawRecord[] = [];
  let next = from;
  for (const batch of fetched.records ?? []) {
    const end = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
    if (end > next) next = end;
    if (batch.attributes & CONTROL_BATCH) continue;
    const appendTime = (batch.attributes & LOG_APPEND_TIME) !== 0;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < from) continue;
      const headers: Record<string, Buffer> = {};
      for (const [name, value] of record.headers) {
        if (name !== null) headers[name.toString()] = value ?? Buffer.alloc(0);
      }
      records.push({
        topic,
        partition: fetched.partitionIndex,
        offset: offset.toString(),
        key: record.key ?? null,
        value: record.value ?? null,
        headers,
        timestamp: Number(appendTime ? batch.maxTimestamp : batch.firstTimestamp + record.timestampDelta),
      });
    }
  }
  return { records, next };
}
