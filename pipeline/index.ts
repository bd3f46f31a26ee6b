/** The public face of the runtime: everything outside `pipeline/` (stages, cli, sources, bench) imports it only through this file. */

export type {
  AdminPort,
  Broker,
  ClusterBroker,
  ConsumerHandlers,
  ConsumerPort,
  FetchedBatch,
  ProduceRecord,
  ProducerPort,
} from './broker.js';
export { KafkaBroker, type KafkaBrokerOptions, kafkaRootReason } from './broker-kafka.js';
export { MemoryBroker } from './broker-memory.js';
export { PlatformaticBroker, type PlatformaticBrokerOptions } from './broker-platformatic.js';
export { type ChainInput, type ChainStepTopics, chainName, chainStages, chainStepNames, entryPoints } from './chain.js';
export * from './codecs.js';
export * from './codes.js';
export {
  buildReplay,
  type DeadLetterView,
  DlqGuard,
  type DlqGuardLimits,
  DlqGuardTripped,
  dlqHeader,
  readDeadLetter,
} from './dlq.js';
export { kafkaBrokerFromEnv, loggerFromEnv, runnerOptionsFromEnv } from './env.js';
export { defaultClassify, type ErrorDisposition, errorMessage, FatalError, TransientError } from './errors.js';
export { createLogger } from './logger.js';
export { createRegistry, PipelineMetrics } from './metrics.js';
export { type OutputsByName, outputFor, outputNameOf, outputsByName, outputTopics } from './outputs.js';
export {
  EventClock,
  keysOnPartitions,
  type LoadedPartition,
  type PartitionStateOptions,
  PartitionStateStore,
} from './partition-state.js';
export { platformaticRootReason } from './platformatic-client.js';
export {
  formatRunSummary,
  type RunSummary,
  type StageSummary,
  type StopReason,
  stageSummaries,
} from './run-summary.js';
export { type RunnerDeps, type RunnerOptions, StageRunner } from './runner.js';
export {
  addressOfUrl,
  type ServiceName,
  ServiceUnreachableError,
  serviceFix,
  waitUntilReachable,
} from './service-unreachable.js';
export * from './stage.js';
export { consumerGroup, deadLetterTopic, physicalTopic, type TopicNaming, type TopicSpec } from './topics.js';
export { exitCodes, runWorker, type WorkerOptions } from './worker.js';
