import { ConfigError, loadEnv } from '../config/load.js';
import { addressOfUrl, ServiceUnreachableError } from '../pipeline/index.js';
import { UsageError, wantsHelp } from './command.js';
import { commands } from './registry.js';

async function renderTopHelp(): Promise<string> {
  const rows: string[] = [];
  for (const [name, load] of Object.entries(commands)) {
    const command = await load();
    rows.push(`  ${name.padEnd(10)} ${command.summary}`);
  }
  return [
    'eaio — building-energy meter data pipeline (Kafka → stages → PostgreSQL/Milvus)',
    '',
    'Usage: eaio <command> [options]    (every command takes --help)',
    '',
    'Commands:',
    ...rows,
    '',
    'Configuration comes from environment variables: `eaio config show` lists them.',
  ].join('\n');
}

/** kafkajs errors that mean no broker answered (the commands probe first; this catches the rest). */
const KAFKA_UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSNonRetriableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
]);

/** @platformatic/kafka's network error, anywhere in the cause chain (KAFKA_CLIENT=platformatic). */
function platformaticNetworkError(error: unknown): boolean {
  let current = error as { code?: unknown; cause?: unknown } | null | undefined;
  for (let depth = 0; depth < 6 && current && typeof current === 'object'; depth++) {
    if (current.code === 'PLT_KFK_NETWORK') return true;
    current = current.cause as typeof current;
  }
  return false;
}

/**
 * A service that cannot be reached, whichever command met it: commands throw
 * ServiceUnreachableError themselves; a kafkajs or postgres.js connection error that escaped one
 * is recognised here, so that the user never sees a stack trace for it.
 */
async function asServiceUnreachable(error: unknown): Promise<ServiceUnreachableError | undefined> {
  if (error instanceof ServiceUnreachableError) return error;
  let env: ReturnType<typeof loadEnv>;
  try {
    env = loadEnv();
  } catch {
    return undefined;
  }
  const name = (error as { name?: unknown } | null)?.name;
  if (typeof name === 'string' && KAFKA_UNREACHABLE.has(name)) {
    const { kafkaRootReason } = await import('../pipeline/index.js');
    const reason = kafkaRootReason(error);
    // A non-retriable kafkajs error is about reaching the broker only if its cause is.
    if (name !== 'KafkaJSNonRetriableError' || reason !== (error as Error).message)
      return new ServiceUnreachableError('Kafka', env.KAFKA_BROKERS, reason, { cause: error });
  }
  if (platformaticNetworkError(error)) {
    const { platformaticRootReason } = await import('../pipeline/index.js');
    return new ServiceUnreachableError('Kafka', env.KAFKA_BROKERS, platformaticRootReason(error), { cause: error });
  }
  const { postgresUnreachableReason } = await import('../stages/shared/pg-wait.js');
  const reason = postgresUnreachableReason(error);
  if (reason === undefined) return undefined;
  return new ServiceUnreachableError('PostgreSQL', addressOfUrl(env.DATABASE_URL), reason, { cause: error });
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await renderTopHelp());
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`eaio: unknown command "${name}". Run \`eaio --help\` for the list.`);
    return 2;
  }
  const command = await load();
  if (wantsHelp(rest)) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    // node:util parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
    const code = (error as { code?: unknown } | null)?.code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'))) {
      console.error(`eaio ${name}: ${(error as Error).message}\n\n${command.usage}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    const unreachable = await asServiceUnreachable(error);
    if (unreachable) {
      console.error(`eaio ${name}: ${unreachable.message}`);
      return 1;
    }
    throw error;
  }
}
