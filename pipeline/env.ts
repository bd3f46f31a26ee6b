/** Builds the runtime's pieces from the environment settings (config/schema.ts) in one place. */
import type { Env } from '../config/schema.js';
import { KafkaBroker } from './broker-kafka.js';
import { createLogger, type Logger } from './logger.js';
import type { RunnerOptions } from './runner.js';

/** `fd: 2` sends the logs to stderr (stdout then carries a command's result). */
export function loggerFromEnv(env: Pick<Env, 'LOG_LEVEL'>, name = 'eaio', fd?: 1 | 2): Logger {
  return createLogger(fd === undefined ? { level: env.LOG_LEVEL, name } : { level: env.LOG_LEVEL, name, fd });
}

export function kafkaBrokerFromEnv(
  env: Pick<Env, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'> & Partial<Pick<Env, 'KAFKA_FETCH_MAX_WAIT_MS'>>,
  log: Logger,
): KafkaBroker {
  return new KafkaBroker({
    ...(env.KAFKA_FETCH_MAX_WAIT_MS === undefined ? {} : { maxWaitTimeMs: env.KAFKA_FETCH_MAX_WAIT_MS }),
    brokers: env.KAFKA_BROKERS.split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    clientId: env.KAFKA_CLIENT_ID,
    log,
  });
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
