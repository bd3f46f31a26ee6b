/** The public face of the runtime: stages import `pipeline/` only through this file. */
export * from './stage.js';
export * from './codecs.js';
export { TransientError, FatalError, defaultClassify, type ErrorDisposition } from './errors.js';
export type { Broker, ConsumerPort, ProducerPort, AdminPort, FetchedBatch, ProduceRecord } from './broker.js';
export { MemoryBroker } from './broker-memory.js';
export { StageRunner, type RunnerOptions, type RunnerDeps } from './runner.js';
export { physicalTopic, deadLetterTopic, consumerGroup, type TopicNaming } from './topics.js';
export { dlqHeader, readDeadLetter, DlqGuard, DlqGuardTripped, type DlqGuardLimits } from './dlq.js';
export { PipelineMetrics, createRegistry } from './metrics.js';
export { createLogger } from './logger.js';
export { processErrorCode } from './partition-worker.js';
