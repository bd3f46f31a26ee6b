/**
 * The stage descriptor: everything the rest of the project needs to know about a stage — its
 * settings, topics, offsets and jobs — without building it or opening a client. `eaio config`,
 * `.env.example`, `eaio status`, `eaio topics create`, the compose test and the benchmarks read
 * descriptors; only `create` builds the runnable stage, and heavy resources open later, in `init`.
 * docs/adding-a-stage.md walks through one.
 */
import type { Sql } from 'postgres';
import type { z } from 'zod';
import { type EnvSection, parseEnvSection } from '../config/load.js';
import type { Env } from '../config/schema.js';
import type { Stage, StageCodes, TopicNaming } from '../pipeline/index.js';
import { createPgClient } from './shared/pg-client.js';

// biome-ignore lint/suspicious/noExplicitAny: a descriptor builds stages of any record types
export type AnyStage = Stage<any, any>;

type SettingsSchema = z.ZodObject<z.ZodRawShape>;

/** Clients a stage may open in `init` (never in `create`); the stage closes what it opened. */
export interface StageClients {
  /** A small postgres.js pool on DATABASE_URL. */
  postgres(options: { readonly max: number; readonly applicationName: string }): Sql;
  /** How long `init` waits for a service to answer (EAIO_STARTUP_WAIT_S; 0 = for ever). */
  readonly startupWaitMs: number;
}

/** What `create` receives instead of reading the environment itself. */
export interface StageCreateContext<C> {
  /** The stage's own settings, parsed and converted (`settings.toConfig`). */
  readonly config: C;
  /** The core settings (brokers, database, prefix, ...). */
  readonly env: Env;
  readonly naming: TopicNaming;
  /** Where a stage that stores its offsets keys them: its consumer group, or its chain's when chained. */
  readonly offsetsGroup: string;
  readonly clients: StageClients;
}

export interface StageDescriptor<N extends string = string, S extends SettingsSchema = SettingsSchema, C = unknown> {
  /** snake_case, stable: topic, group, metric and DLQ names derive from it. */
  readonly name: N;
  /** One line for `eaio run --help` and the docs. */
  readonly summary: string;
  /** Benchmarks and tests only: `eaio run all` and the pipeline order leave it out. */
  readonly auxiliary?: boolean;
  /**
   * Reads the pipeline's output in a consumer group of its own (it cannot follow a sink in a
   * chain): `eaio run all` runs it beside the pipeline's stages, chained or not, never as a step.
   */
  readonly branch?: boolean;
  readonly settings: {
    /** `EAIO_<STAGE>_*` variables, each with a default and a description. */
    readonly schema: S;
    /** Former variable names still read with a deprecation warning: former → current. */
    readonly aliases?: Readonly<Record<string, keyof z.infer<S> & string>>;
    readonly toConfig: (values: z.infer<S>) => C;
  };
  /** Logical input topics. */
  readonly inputs: (config: C) => readonly string[];
  /** Logical topics by output name (`main` is the one a chain passes on). */
  readonly outputs: (config: C) => Readonly<Record<string, string>>;
  /** Keeps its offsets in its own store with its writes (a sink): it can only end a chain. */
  readonly storesOffsets?: boolean;
  /** Maintenance jobs (jobs/) a worker running this stage also runs on their schedules. */
  readonly jobs?: readonly string[];
  /**
   * The dead-letter codes, skip and defer reasons the stage emits beyond the runtime's
   * (pipeline/codes.ts); docs/messages.md explains each. Absent: only the runtime's.
   */
  readonly codes?: StageCodes;
  /** Builds the runnable stage: cheap, no I/O (open clients in its `init`). */
  create(ctx: StageCreateContext<C>): Promise<AnyStage>;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds descriptors of different settings
export type AnyStageDescriptor = StageDescriptor<string, any, any>;

/** Identity with inference: `export const validateStage = defineStage({ ... })`. */
export const defineStage = <const N extends string, S extends SettingsSchema, C>(
  descriptor: StageDescriptor<N, S, C>,
): StageDescriptor<N, S, C> => descriptor;

/** The settings section of a descriptor, for `eaio config` and `.env.example`. */
export const settingsSection = (d: AnyStageDescriptor): EnvSection => ({
  title: `Stage ${d.name}`,
  schema: d.settings.schema,
  ...(d.settings.aliases ? { aliases: d.settings.aliases } : {}),
});

/** The stage's config as its workers would see it in this environment. */
export function stageConfig<C>(
  d: StageDescriptor<string, SettingsSchema, C>,
  source: NodeJS.ProcessEnv = process.env,
): C {
  return d.settings.toConfig(parseEnvSection(d.settings.schema, source, d.settings.aliases));
}

export const defaultClients = (env: Env): StageClients => ({
  postgres: (options) => createPgClient(env.DATABASE_URL, options),
  startupWaitMs: env.EAIO_STARTUP_WAIT_S * 1000,
});
