/** Builds the runtime's pieces from the environment settings (config/schema.ts) in one place. */
import { ConfigError } from '../config/load.js';
import type { Env } from '../config/schema.js';
import type { ClusterBroker } from './broker.js';
import { KafkaBroker } from './broker-kafka.js';
import { PlatformaticBroker } from './broker-platformatic.js';
import { createLogger, type Logger } from './logger.js';
import { platformaticRunsOn } from './platformatic-client.js';
import type { RunnerOptions } from './runner.js';

/** `fd: 2` sends the logs to stderr (stdout then carries a command's result). */
export function loggerFromEnv(env: Pick<Env, 'LOG_LEVEL'>, name = 'eaio', fd?: 1 | 2): Logger {
  return createLogger(fd === undefined ? { level: env.LOG_LEVEL, name } : { level: env.LOG_LEVEL, name, fd });
}

/** The broker of the client KAFKA_CLIENT names (kafkajs when unset); platformatic is loaded only if chosen. */
export function kafkaBrokerFromEnv(
  env: Pick<Env, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'> &
    Partial<Pick<Env, 'KAFKA_FETCH_MAX_WAIT_MS' | 'KAFKA_FETCH_MAX_BYTES_PER_PARTITION' | 'KAFKA_CLIENT'>>,
  log: Logger,
): ClusterBroker {
  const options = {
    ...(env.KAFKA_FETCH_MAX_WAIT_MS === undefined ? {} : { maxWaitTimeMs: env.KAFKA_FETCH_MAX_WAIT_MS }),
    ...(env.KAFKA_FETCH_MAX_BYTES_PER_PARTITION === undefined
      ? {}
      : { maxBytesPerPartition: env.KAFKA_FETCH_MAX_BYTES_PER_PARTITION }),
    brokers: env.KAFKA_BROKERS.split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    clientId: env.KAFKA_CLIENT_ID,
    log,
  };
  if (env.KAFKA_CLIENT !== 'platformatic') return new KafkaBroker(options);
  if (!platformaticRunsOn(process.versions.node))
    throw new ConfigError([
      `KAFKA_CLIENT=platformatic needs Node.js 22.22+ or 24.6+, this is ${process.versions.node}: run a newer Node.js or set KAFKA_CLIENT=kafkajs`,
    ]);
  return new PlatformaticBroker(options);
}

export function runnerOptionsFromEnv(
  env: Pick<Env, 'EAIO_TOPIC_PREFIX' | 'EAIO_TOPIC_PARTITIONS' | 'EAIO_TOPIC_REPLICATION'>,
): RunnerOptions {
  return {
    naming: { prefix: env.EAIO_TOPIC_PREFIX },
    topicPartitions: env.EAIO_TOPIC_PARTITIONS,
    topicReplication: env.EAIO_TOPIC_REPLICATION,
  };
}
