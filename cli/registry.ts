import type { Command } from './command.js';

/**
 * Every `eaio` subcommand, loaded lazily so that `eaio --help` and light commands never
 * pay for heavy clients (kafkajs, onnxruntime, milvus).
 */
export const commands: Record<string, () => Promise<Command>> = {
  config: async () => (await import('./commands/config.js')).configCommand,
  services: async () => (await import('./commands/services.js')).servicesCommand,
  import: async () => (await import('./commands/import.js')).importCommand,
  replay: async () => (await import('./commands/replay.js')).replayCommand,
  publish: async () => (await import('./commands/publish.js')).publishCommand,
  migrate: async () => (await import('./commands/migrate.js')).migrateCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  dlq: async () => (await import('./commands/dlq.js')).dlqCommand,
  topics: async () => (await import('./commands/topics.js')).topicsCommand,
  jobs: async () => (await import('./commands/jobs.js')).jobsCommand,
  bench: async () => (await import('./commands/bench.js')).benchCommand,
  eval: async () => (await import('./commands/eval.js')).evalCommand,
  similar: async () => (await import('./commands/similar.js')).similarCommand,
};
