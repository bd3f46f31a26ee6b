import { z } from 'zod';

/**
 * Every setting EAIO reads from the environment. Defaults point at the local stack that
 * `eaio services up` starts on 127.0.0.1, so a fresh clone works without a .env file.
 */
export const envSchema = z.object({
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .describe('Comma-separated Kafka-protocol bootstrap brokers (Redpanda in production).'),
  KAFKA_CLIENT_ID: z.string().default('eaio').describe('Client id sent to the broker.'),
  KAFKA_CLIENT: z
    .enum(['kafkajs', 'platformatic'])
    .default('platformatic')
    .describe(
      'Kafka client library of the workers and commands: platformatic (@platformatic/kafka, needs Node.js 22.22+ or 24.6+; the faster) or kafkajs. Both pass the same runtime contract, partition keys alike and can share a consumer group.',
    ),
  KAFKA_FETCH_MAX_BYTES_PER_PARTITION: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1_048_576)
    .describe(
      'Most bytes one fetch takes from one partition: with the partitions fetched at once, it bounds how much a worker holds in memory (lower it to trade throughput for memory).',
    ),
  KAFKA_FETCH_MAX_WAIT_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(100)
    .describe(
      'Longest a fetch waits on the broker for new data: bounds how soon a paused (deferred or retried) partition is read again.',
    ),
  EAIO_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'only letters, digits, dot, underscore and dash')
    .default('eaio')
    .describe('Prefix of every topic and consumer group, so two pipelines can share one broker.'),
  EAIO_TOPIC_PARTITIONS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(6)
    .describe('Partitions of topics the runtime creates.'),
  EAIO_TOPIC_REPLICATION: z.coerce
    .number()
    .int()
    .min(1)
    .default(1)
    .describe('Replication factor of topics the runtime creates (1 on the local single broker).'),
  DATABASE_URL: z
    .string()
    .default('postgres://eaio:eaio@127.0.0.1:55432/eaio')
    .describe('PostgreSQL connection string of the pipeline writer role.'),
  DATABASE_READ_URL: z
    .string()
    .optional()
    .describe('PostgreSQL connection string of the read-only role (API, Grafana); defaults to DATABASE_URL.'),
  EAIO_STARTUP_WAIT_S: z.coerce
    .number()
    .min(0)
    .default(60)
    .describe(
      'How long a worker (eaio run) waits at start-up for Kafka and PostgreSQL to answer, retrying with backoff, before it exits 1; 0 waits for ever (containers). One-shot commands fail at once.',
    ),
  MILVUS_ADDRESS: z.string().default('127.0.0.1:19530').describe('Milvus gRPC address host:port.'),
  PROMETHEUS_URL: z
    .string()
    .default('http://127.0.0.1:19090')
    .describe('Prometheus HTTP API base URL (used by `eaio status` and tests).'),
  METRICS_HOST: z
    .string()
    .default('127.0.0.1')
    .describe('Interface the workers bind /metrics, /healthz and /readyz to.'),
  METRICS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(0)
    .describe('Port of the worker metrics server; 0 picks a free port and registers it for Prometheus.'),
  EAIO_PROMETHEUS_SD_DIR: z
    .string()
    .default('.local/prometheus/targets')
    .describe('Folder where workers write Prometheus file_sd target files (local stack).'),
  API_HOST: z.string().default('127.0.0.1').describe('Interface the API listens on.'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('Port the API listens on.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  EAIO_LOCAL_DIR: z
    .string()
    .default('.local')
    .describe('Folder (ignored by git) for the local stack: installs, data, logs.'),
});

export type Env = z.infer<typeof envSchema>;
export type EnvKey = keyof Env;
