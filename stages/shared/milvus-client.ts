import { type ClientConfig, CONNECT_STATUS, MilvusClient } from '@zilliz/milvus2-sdk-node';
import { errorMessage, ServiceUnreachableError, type StageContext, waitUntilReachable } from '../../pipeline/index.js';

export interface MilvusConnectOptions {
  /** Per-call gRPC deadline in ms (the SDK's default is long enough to stall a test for minutes). */
  timeoutMs?: number;
  /** SDK log level; the SDK logs through its own winston instance. */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
}

/**
 * Connects to Milvus at `host:port` and waits for the handshake, so a server that is down fails here
 * with a clear message instead of on the first real call.
 *
 * Some Milvus Lite builds answer the Connect RPC with identifier 0. The SDK reads a missing
 * identifier as "pre-2.3 server without Connect" (CONNECT_STATUS.UNIMPLEMENTED) and then refuses
 * schema options such as nullable/default values and the quick-mode createCollection, although the
 * server implements them. Once the handshake has returned *successfully* we therefore treat the
 * connection as a current server. (Milvus Lite 3.2.2, pinned in scripts/services/milvus, already
 * returns a real identifier; the override is kept for other Lite builds and costs nothing.)
 *
 * Milvus Lite also rejects AUTOINDEX ("create_index missing required 'index_type'"): always create
 * collections with an explicit schema and an explicit index type (HNSW).
 */
export async function connectMilvus(address: string, options: MilvusConnectOptions = {}): Promise<MilvusClient> {
  const config: ClientConfig = {
    address,
    timeout: options.timeoutMs ?? 15_000,
    logLevel: options.logLevel ?? 'warn',
    // Heartbeats would only earn UNIMPLEMENTED from Milvus Lite and keep a timer alive in tests.
    telemetry: { enabled: false },
  };
  const client = new MilvusClient(config);
  try {
    await client.connectPromise;
  } catch (error) {
    await client.closeConnection().catch(() => undefined);
    throw new ServiceUnreachableError('Milvus', address, errorMessage(error), { cause: error });
  }
  if (client.connectStatus === CONNECT_STATUS.UNIMPLEMENTED) {
    client.connectStatus = CONNECT_STATUS.CONNECTED;
  }
  return client;
}

/**
 * `connectMilvus` for a stage's `init`: retried with backoff for `waitMs` (a worker's
 * EAIO_STARTUP_WAIT_S; 0 = for ever), one log line per attempt, then a ServiceUnreachableError.
 */
export function waitForMilvus(
  address: string,
  ctx: Pick<StageContext, 'log' | 'signal'>,
  options: MilvusConnectOptions & { waitMs: number },
): Promise<MilvusClient> {
  return waitUntilReachable(
    () => connectMilvus(address, options),
    () => undefined,
    { service: 'Milvus', address, waitMs: options.waitMs, log: ctx.log, signal: ctx.signal },
  );
}
