/** The public face of the runtime: stages import `pipeline/` only through this file. */

export type { AdminPort, Broker, ConsumerPort, FetchedBatch, ProduceRecord, ProducerPort } from './broker.js';
export { MemoryBroker } from './broker-memory.js';
export { type ChainInput, type ChainStepTopics, chainName, chainStages, chainStepNames, entryPoints } from './chain.js';
export * from './codecs.js';
export * from './codes.js';
export { DlqGuard, type DlqGuardLimits, DlqGuardTripped, dlqHeader, readDeadLetter } from './dlq.js';
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
export { type RunnerDeps, type RunnerOptions, StageRunner } from './runner.js';
export * from './stage.js';
export { consumerGroup, deadLetterTopic, physicalTopic, type TopicNaming, type TopicSpec } from './topics.js';
