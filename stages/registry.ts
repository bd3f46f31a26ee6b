/**
 * Every stage `eaio run` knows, in pipeline order. Adding a stage is its folder plus one line here
 * (docs/adding-a-stage.md). Descriptors are cheap to import: a stage's code loads in `create`.
 */

import type { EnvSection } from '../config/load.js';
import type { Env } from '../config/schema.js';
import {
  chainStages,
  chainStepNames,
  consumerGroup,
  deadLetterTopic,
  entryPoints,
  physicalTopic,
  type TopicNaming,
} from '../pipeline/index.js';
import {
  type AnyStage,
  type AnyStageDescriptor,
  defaultClients,
  type StageClients,
  settingsSection,
  stageConfig,
} from './descriptor.js';
import { embedProfilesStage } from './embed_profiles/index.js';
import { enrichWeatherStage } from './enrich_weather/index.js';
import { passthroughStage } from './passthrough/index.js';
import { scoreAnomalyStage } from './score_anomaly/index.js';
import { validateStage } from './validate/index.js';
import { writeHypertableStage } from './write_hypertable/index.js';

export const stageDescriptors = [
  passthroughStage,
  validateStage,
  enrichWeatherStage,
  scoreAnomalyStage,
  writeHypertableStage,
  embedProfilesStage,
] as const;

export type StageName = (typeof stageDescriptors)[number]['name'];

export const stageNames = (): StageName[] => stageDescriptors.map((d) => d.name);

/** The pipeline stages in pipeline order: the chain of `all` (auxiliary and branch stages left out). */
export const pipelineStages = (): StageName[] =>
  stageDescriptors.filter((d: AnyStageDescriptor) => !d.auxiliary && !d.branch).map((d) => d.name);

/** Stages that read the pipeline's output in groups of their own: `all` runs them beside the chain. */
export const branchStages = (): StageName[] =>
  stageDescriptors.filter((d: AnyStageDescriptor) => d.branch === true).map((d) => d.name);

export const isStageName = (name: string): name is StageName => stageDescriptors.some((d) => d.name === name);

export class UnknownStageError extends Error {
  constructor(readonly stage: string) {
    super(`unknown stage "${stage}" (known: ${stageNames().join(', ')})`);
    this.name = 'UnknownStageError';
  }
}

export function descriptorOf(name: string): AnyStageDescriptor {
  const found = stageDescriptors.find((d) => d.name === name);
  if (!found) throw new UnknownStageError(name);
  return found;
}

/** Settings sections of every stage, in pipeline order, for `eaio config` and `.env.example`. */
export const stageSettingsSections = (): EnvSection[] => stageDescriptors.map(settingsSection);

/** What a stage (or a chain `a+b+c`) reads, writes and where its group and dead letters are: no stage is built. */
export interface StagePlan {
  readonly name: string;
  readonly steps: readonly string[];
  readonly group: string;
  /** Logical topics. */
  readonly inputs: readonly string[];
  /** Logical topics by output name; a chain's are its last step's and every step's side outputs. */
  readonly outputs: Readonly<Record<string, string>>;
  readonly deadLetterTopics: readonly string[];
  readonly storesOffsets: boolean;
  readonly jobs: readonly string[];
}

export function stagePlan(name: string, naming: TopicNaming, source: NodeJS.ProcessEnv = process.env): StagePlan {
  const steps = chainStepNames(name).map(descriptorOf);
  const topics = steps.map((d) => {
    const config = stageConfig(d, source);
    const outputs = d.outputs(config);
    return { inputs: d.inputs(config), outputs, output: outputs.main ? { topic: outputs.main } : undefined };
  });
  const outputs: Record<string, string> = {};
  topics.forEach((t, i) => {
    for (const [output, topic] of Object.entries(t.outputs))
      if (output !== 'main' || i === topics.length - 1) outputs[output] = topic;
  });
  const last = steps[steps.length - 1] as AnyStageDescriptor;
  return {
    name,
    steps: steps.map((d) => d.name),
    group: consumerGroup(naming, name),
    inputs: [...entryPoints(topics).keys()],
    outputs,
    deadLetterTopics: steps.map((d) => deadLetterTopic(naming, d.name)),
    storesOffsets: last.storesOffsets === true,
    jobs: [...new Set(steps.flatMap((d) => d.jobs ?? []))],
  };
}

/** Every physical topic a plan touches: inputs, outputs and dead letters. */
export const planTopics = (plan: StagePlan, naming: TopicNaming): string[] => [
  ...new Set([
    ...plan.inputs.map((t) => physicalTopic(naming, t)),
    ...Object.values(plan.outputs).map((t) => physicalTopic(naming, t)),
    ...plan.deadLetterTopics,
  ]),
];

export interface CreateStageOptions {
  readonly env: Env;
  readonly naming?: TopicNaming;
  /** Where each stage reads its own settings from (default: the process environment). */
  readonly source?: NodeJS.ProcessEnv;
  readonly clients?: StageClients;
}

/** A stage by name, built from its descriptor; `a+b+c` is the chain of those stages (pipeline/chain.ts). */
export async function createStage(name: string, options: CreateStageOptions): Promise<AnyStage> {
  const naming = options.naming ?? { prefix: options.env.EAIO_TOPIC_PREFIX };
  const clients = options.clients ?? defaultClients(options.env);
  const offsetsGroup = consumerGroup(naming, name);
  const steps = await Promise.all(
    chainStepNames(name).map((part) => {
      const descriptor = descriptorOf(part);
      return descriptor.create({
        config: stageConfig(descriptor, options.source),
        env: options.env,
        naming,
        offsetsGroup,
        clients,
      });
    }),
  );
  return steps.length === 1 ? (steps[0] as AnyStage) : chainStages(steps, naming);
}
