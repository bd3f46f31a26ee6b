import type { Stage } from '../pipeline/index.js';

/**
 * Every stage `eaio run` knows, by name, loaded lazily so a worker only imports what it runs.
 * `all` in `eaio run all` means every entry except the benchmark-only ones listed below.
 */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds stages of different record types
export const stageFactories: Record<string, () => Promise<Stage<any, any>>> = {
  passthrough: async () => (await import('./passthrough/index.js')).createPassthroughStage(),
  validate: async () => (await import('./validate/index.js')).createValidateStage(),
  enrich_weather: async () => (await import('./enrich_weather/index.js')).createEnrichWeatherStage(),
  write_hypertable: async () => (await import('./write_hypertable/index.js')).createWriteHypertableStage(),
};

/** Stages that exist for benchmarks and tests; `eaio run all` leaves them out. */
export const auxiliaryStages: ReadonlySet<string> = new Set(['passthrough']);
