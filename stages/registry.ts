import { chainStages, chainStepNames, consumerGroup, type Stage, type TopicNaming } from '../pipeline/index.js';

export interface StageFactoryOptions {
  /** Key of a sink's stored offsets: the consumer group it really runs in (a chain's, when chained). */
  readonly offsetsGroup?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds stages of different record types
type AnyStage = Stage<any, any>;

/**
 * Every stage `eaio run` knows, by name, loaded lazily so a worker only imports what it runs.
 * `all` in `eaio run all` means every entry except the benchmark-only ones listed below.
 */
export const stageFactories: Record<string, (options?: StageFactoryOptions) => Promise<AnyStage>> = {
  passthrough: async () => (await import('./passthrough/index.js')).createPassthroughStage(),
  validate: async () => (await import('./validate/index.js')).createValidateStage(),
  enrich_weather: async () => (await import('./enrich_weather/index.js')).createEnrichWeatherStage(),
  write_hypertable: async (options) =>
    (await import('./write_hypertable/index.js')).createWriteHypertableStage(
      options?.offsetsGroup ? { offsetsGroup: options.offsetsGroup } : {},
    ),
};

/** Stages that exist for benchmarks and tests; `eaio run all` leaves them out. */
export const auxiliaryStages: ReadonlySet<string> = new Set(['passthrough']);

/** The pipeline stages in pipeline order (what `all` means). */
export const pipelineStages = (): string[] => Object.keys(stageFactories).filter((n) => !auxiliaryStages.has(n));

/** A stage by name; `a+b+c` is the chain of those stages (pipeline/chain.ts). */
export async function createStage(name: string, naming: TopicNaming): Promise<AnyStage> {
  const parts = chainStepNames(name);
  const factory = (part: string) => {
    const make = stageFactories[part];
    if (!make) throw new Error(`unknown stage "${part}" (known: ${Object.keys(stageFactories).join(', ')})`);
    return make;
  };
  if (parts.length === 1) return factory(name)();
  const offsetsGroup = consumerGroup(naming, name);
  const steps = await Promise.all(parts.map((part) => factory(part)({ offsetsGroup })));
  return chainStages(steps, naming);
}
