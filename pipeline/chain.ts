/**
 * Stage chaining (operator fusion, as Arroyo and Kafka Streams sub-topologies do it): consecutive
 * stages run as ONE stage on one consumer group. A record enters the chain from the first stage's
 * input (or from another step's own extra input, e.g. enrich_weather's weather topic) and is
 * handed from step to step in memory; the intermediate topics are not read or written.
 *
 * What stays as it was:
 * - each step sees exactly what it would have decoded from its input topic (the previous step's
 *   output is encoded with that step's codec and decoded with the next step's);
 * - a record a step rejects is dead-lettered to THAT step's dead-letter topic, with the original
 *   bytes of the record that entered the chain (so `eaio dlq replay` re-runs the whole chain);
 * - a last step that stores its offsets (the PostgreSQL writer) stores those of the chain's input,
 *   and every dead letter of an earlier step is acknowledged before it runs (ctx.acknowledgeDeadLetters);
 * - only the main output passes from step to step: side outputs (e.g. alerts) of any step are
 *   produced to their topics for real, and acknowledged before a storing last step runs
 *   (ctx.acknowledgeOutputs), so the chain's stored offsets never pass an unsent side output.
 */
import { adoptSafely, decodeSafely } from './codecs.js';
import { encodeErrorCode, processErrorCode, unexpectedTopicCode } from './codes.js';
import { defaultClassify, FatalError } from './errors.js';
import { offsetAfter } from './offsets.js';
import { outputNameOf, outputsByName } from './outputs.js';
import {
  type Codec,
  type Envelope,
  MAIN_OUTPUT,
  type OutputRecord,
  type RawRecord,
  type Stage,
  type StageContext,
  type StageResult,
  type StoredOffset,
} from './stage.js';
import { physicalTopic, type TopicNaming } from './topics.js';

// biome-ignore lint/suspicious/noExplicitAny: a chain holds stages of different record types
type AnyStage = Stage<any, any>;

/** Which step a record enters at, and its decoded value (or why it could not be decoded). */
export type ChainInput =
  | { readonly step: number; readonly ok: true; readonly value: unknown }
  | { readonly step: number; readonly ok: false; readonly code: string; readonly message: string };

/** `a+b+c`: the chain's stage name, used for its consumer group and its metrics. */
export const chainName = (steps: readonly { name: string }[]): string => steps.map((s) => s.name).join('+');

const isChainName = (name: string): boolean => name.includes('+');
export const chainStepNames = (name: string): string[] => (isChainName(name) ? name.split('+') : [name]);

/** The record a step's output would have been on the topic between two steps. */
function bytesBetween(
  spec: NonNullable<AnyStage['output']>,
  out: OutputRecord<unknown>,
  source: RawRecord,
  topic: string,
): RawRecord {
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(out.headers ?? {})) headers[k] = Buffer.from(v);
  return {
    topic,
    partition: source.partition,
    offset: source.offset,
    key: Buffer.from(out.key ?? spec.key(out.value)),
    value: spec.codec.encode(out.value),
    headers,
    timestamp: source.timestamp,
  };
}

/** Every step's side outputs, which the chain declares as its own (names unique across the chain). */
function chainSideOutputs(steps: readonly AnyStage[]): NonNullable<AnyStage['sideOutputs']> {
  const byName = new Map<string, string>();
  const all: NonNullable<AnyStage['sideOutputs']>[number][] = [];
  for (const step of steps) {
    outputsByName(step);
    for (const side of step.sideOutputs ?? []) {
      const owner = byName.get(side.name);
      if (owner) throw new Error(`${owner} and ${step.name} both declare the side output "${side.name}"`);
      byName.set(side.name, step.name);
      all.push(side);
    }
  }
  return all;
}

function checkChain(steps: readonly AnyStage[]): void {
  if (steps.length < 2) throw new Error('a chain needs at least two stages');
  steps.forEach((step, i) => {
    if (i < steps.length - 1 && step.loadStoredOffsets)
      throw new Error(`${step.name} stores its own offsets, so it can only be the last stage of a chain`);
    const next = steps[i + 1];
    if (!next) return;
    if (!step.output) throw new Error(`${step.name} has no output, so no stage can follow it in a chain`);
    if (!next.inputs.includes(step.output.topic))
      throw new Error(`${next.name} does not read ${step.output.topic} (the output of ${step.name})`);
  });
}

/** What deciding a chain's inputs needs to know of each step (a stage, or a stage's descriptor). */
export interface ChainStepTopics {
  readonly inputs: readonly string[];
  readonly output?: { readonly topic: string } | undefined;
}

/** Logical input topic → the step it enters at. The first step claims its inputs, later ones the rest. */
export function entryPoints(steps: readonly ChainStepTopics[]): Map<string, number> {
  const entries = new Map<string, number>();
  steps.forEach((step, i) => {
    const fed = i > 0 ? steps[i - 1]?.output?.topic : undefined;
    for (const topic of step.inputs) if (topic !== fed && !entries.has(topic)) entries.set(topic, i);
  });
  return entries;
}

interface Item {
  /** Index of the chain input record it came from. */
  readonly src: number;
  readonly envelope: Envelope<unknown>;
}

export function chainStages(steps: readonly AnyStage[], naming: TopicNaming): Stage<ChainInput, unknown> {
  checkChain(steps);
  const name = chainName(steps);
  const entries = entryPoints(steps);
  const byPhysical = new Map([...entries].map(([logical, step]) => [physicalTopic(naming, logical), step]));
  const last = steps.length - 1;
  const sink = steps[last] as AnyStage;
  const sideOutputs = chainSideOutputs(steps);
  const sideNames = new Set(sideOutputs.map((o) => o.name));
  const stepOfError = new WeakMap<object, number>();
  const stepCtx: StageContext[] = [];

  const contextFor = (ctx: StageContext, i: number): StageContext => {
    let base = stepCtx[i];
    if (!base || base.signal !== ctx.signal) {
      base = childContext(ctx, steps[i] as AnyStage);
      stepCtx[i] = base;
    }
    return ctx.acknowledgeDeadLetters ? { ...base, acknowledgeDeadLetters: ctx.acknowledgeDeadLetters } : base;
  };

  /** Runs a step's hook so that its errors are classified as that step classifies them. */
  async function atStep<T>(i: number, hook: () => Promise<T> | undefined): Promise<T | undefined> {
    try {
      return await hook();
    } catch (error) {
      if (error !== null && typeof error === 'object') stepOfError.set(error, i);
      throw error;
    }
  }

  const classifyStep = (i: number, error: unknown) => {
    const own = (steps[i] as AnyStage).classifyError?.(error);
    return own && own !== 'unknown' ? own : defaultClassify(error);
  };

  /** An output of step `i` as step `i + 1` would have read it from the topic between them. */
  function handOver(i: number, source: RawRecord, out: OutputRecord<unknown>): Envelope<unknown> | StageResult<never> {
    const step = steps[i] as AnyStage;
    const next = steps[i + 1] as AnyStage;
    const spec = step.output as NonNullable<AnyStage['output']>;
    const physical = physicalTopic(naming, spec.topic);
    let between: RawRecord | undefined;
    if (!next.input.adopt) {
      try {
        between = bytesBetween(spec, out, source, physical);
      } catch (error) {
        // The step's own key function or codec failed on its output: that step's dead letter.
        return { kind: 'dead_letter', code: encodeErrorCode, error: asError(error), stage: step.name };
      }
    }
    const decoded = next.input.adopt
      ? adoptSafely(next.input, out.value, physical, spec.codec)
      : decodeSafely(next.input, between as RawRecord);
    if (!decoded.ok)
      return { kind: 'dead_letter', code: decoded.code, error: new Error(decoded.message), stage: next.name };
    // The chain's input record stays the identity of the work (offsets, dead letters, wait keys).
    return decoded.eventTime === undefined
      ? { value: decoded.value, raw: source }
      : { value: decoded.value, raw: source, eventTime: decoded.eventTime };
  }

  const input: Codec<ChainInput> = {
    decode(raw) {
      const step = byPhysical.get(raw.topic);
      if (step === undefined)
        return { ok: false, code: unexpectedTopicCode, message: `${name} does not read ${raw.topic}` };
      const decoded = decodeSafely((steps[step] as AnyStage).input, raw);
      if (!decoded.ok) return { ok: true, value: { step, ok: false, code: decoded.code, message: decoded.message } };
      const value: ChainInput = { step, ok: true, value: decoded.value };
      return decoded.eventTime === undefined ? { ok: true, value } : { ok: true, value, eventTime: decoded.eventTime };
    },
    encode() {
      throw new FatalError('a chain input is never encoded', 'contract_violation');
    },
  };

  async function process(
    batch: readonly Envelope<ChainInput>[],
    ctx: StageContext,
  ): Promise<readonly StageResult<unknown>[]> {
    const ended: (StageResult<unknown> | undefined)[] = batch.map(() => undefined);
    const outputs: OutputRecord<unknown>[][] = batch.map(() => []);
    const waiting: Item[][] = steps.map(() => []);
    batch.forEach((e, src) => {
      const entry = e.value;
      if (entry.ok) waiting[entry.step]?.push({ src, envelope: { ...e, value: entry.value } });
      else ended[src] = deadLetterAt(steps[entry.step] as AnyStage, entry.code, entry.message);
    });

    // A sink that stores offsets runs even when nothing reaches it, so that its stored offset
    // moves past records the earlier steps dead-lettered or skipped (else a restart re-runs them).
    const storingSink = sink.loadStoredOffsets !== undefined && ctx.acknowledgeDeadLetters !== undefined;
    for (let i = 0; i <= last; i++) {
      const items = (waiting[i] as Item[]).sort((a, b) => a.src - b.src);
      if (items.length === 0 && !(i === last && storingSink)) continue;
      const step = steps[i] as AnyStage;
      if (i === last && storingSink && ctx.acknowledgeDeadLetters) {
        const pending = ended.flatMap((r, src) =>
          r?.kind === 'dead_letter' ? [{ raw: (batch[src] as Envelope<ChainInput>).raw, result: r }] : [],
        );
        if (pending.length > 0) await ctx.acknowledgeDeadLetters(pending);
        const sides = outputs.flatMap((o, src) => (ended[src]?.kind === 'dead_letter' ? [] : o));
        if (sides.length > 0) {
          if (!ctx.acknowledgeOutputs)
            throw new FatalError(`${name} cannot acknowledge side outputs before ${sink.name}`, 'contract_violation');
          await ctx.acknowledgeOutputs(sides);
          for (const o of outputs) o.length = 0;
        }
      }
      let results: readonly StageResult<unknown>[];
      try {
        const stepContext = contextFor(ctx, i);
        results = await step.process(
          items.map((item) => item.envelope),
          i === last && storingSink ? { ...stepContext, inputEnd: inputEnd(batch) } : stepContext,
        );
      } catch (error) {
        // Alone (the runner's one-by-one re-run), an unclassified throw is this record's fault, at this step.
        if (batch.length === 1 && !(error instanceof FatalError) && classifyStep(i, error) === 'unknown')
          return [deadLetterAt(step, processErrorCode, error instanceof Error ? error : new Error(String(error)))];
        if (error !== null && typeof error === 'object') stepOfError.set(error, i);
        throw error;
      }
      if (results.length !== items.length)
        throw new FatalError(
          `stage ${step.name} returned ${results.length} results for ${items.length} records`,
          'contract_violation',
        );
      // The runner re-runs the whole chunk after a retry or defer anyway: stop here.
      const held = results.find((r) => r.kind === 'retry' || r.kind === 'defer');
      if (held) return batch.map(() => held);
      results.forEach((result, k) => {
        const { src } = items[k] as Item;
        if (result.kind === 'dead_letter') {
          if (ended[src]?.kind !== 'dead_letter') ended[src] = { ...result, stage: result.stage ?? step.name };
        } else if (result.kind === 'skip') {
          ended[src] ??= result;
        } else if (result.kind === 'ok') {
          if (i === last) {
            for (const out of result.outputs) (outputs[src] as OutputRecord<unknown>[]).push(out);
            return;
          }
          for (const out of result.outputs) {
            const target = outputNameOf(step, out);
            if (sideNames.has(target) && (step.sideOutputs ?? []).some((o) => o.name === target)) {
              (outputs[src] as OutputRecord<unknown>[]).push({ ...out, output: target });
              continue;
            }
            if (target !== (step.output?.name ?? MAIN_OUTPUT))
              throw new FatalError(
                `${step.name} emitted to the output "${target}", which it does not declare`,
                'contract_violation',
              );
            const next = handOver(i, (batch[src] as Envelope<ChainInput>).raw, out);
            if ('kind' in next) {
              if (ended[src]?.kind !== 'dead_letter') ended[src] = next;
            } else (waiting[i + 1] as Item[]).push({ src, envelope: next });
          }
        }
      });
    }

    return batch.map((_, src) => {
      const result = ended[src];
      if (result?.kind === 'dead_letter') return result;
      const out = outputs[src] as OutputRecord<unknown>[];
      if (out.length > 0 || result === undefined) return { kind: 'ok', outputs: out };
      return result;
    });
  }

  return {
    name,
    inputs: [...entries.keys()],
    input,
    ...(sink.output ? { output: sink.output } : {}),
    ...(sideOutputs.length > 0 ? { sideOutputs } : {}),
    // No step gets more records in one call than it asks for.
    batch: { maxRecords: Math.min(...steps.map((s) => s.batch.maxRecords)) },
    deadLetterStages: steps.map((s) => s.name),

    classifyError(error) {
      const i = error !== null && typeof error === 'object' ? stepOfError.get(error) : undefined;
      return i === undefined ? 'unknown' : classifyStep(i, error);
    },

    async init(ctx) {
      for (let i = 0; i <= last; i++) await steps[i]?.init?.(contextFor(ctx, i));
    },

    process,

    async onPartitionsAssigned(partitions, ctx) {
      for (let i = 0; i <= last; i++)
        await atStep(i, () => steps[i]?.onPartitionsAssigned?.(partitions, contextFor(ctx, i)));
    },

    async onPartitionsRevoked(partitions, ctx) {
      for (let i = 0; i <= last; i++)
        await atStep(i, () => steps[i]?.onPartitionsRevoked?.(partitions, contextFor(ctx, i)));
    },

    ...(sink.loadStoredOffsets
      ? {
          loadStoredOffsets: async (partitions, ctx) =>
            (await atStep(last, () => sink.loadStoredOffsets?.(partitions, contextFor(ctx, last)))) ?? [],
        }
      : {}),

    async close() {
      const failures: unknown[] = [];
      for (const step of [...steps].reverse()) await step.close?.().catch((error: unknown) => failures.push(error));
      if (failures.length > 0) throw failures[0];
    },
  };
}

/** Next offset per partition after the records of `batch` (parsed once per partition, not per record). */
function inputEnd(batch: readonly Envelope<unknown>[]): StoredOffset[] {
  const highest = new Map<string, RawRecord>();
  for (const { raw } of batch) {
    const key = `${raw.topic}\u0000${raw.partition}`;
    const known = highest.get(key);
    if (!known || offsetAfter(raw.offset, known.offset)) highest.set(key, raw);
  }
  return [...highest.values()].map((raw) => ({
    topic: raw.topic,
    partition: raw.partition,
    offset: (BigInt(raw.offset) + 1n).toString(),
  }));
}

function childContext(ctx: StageContext, step: AnyStage): StageContext {
  // The chain's input partitions are every step's partitions: one event time, one retry view; its
  // steps' own counters are labelled with the chain's name, like the runtime's.
  return {
    stage: step.name,
    log: ctx.log.child({ step: step.name }),
    signal: ctx.signal,
    ...(ctx.eventTime ? { eventTime: ctx.eventTime } : {}),
    ...(ctx.retryingPartitions ? { retryingPartitions: ctx.retryingPartitions } : {}),
    ...(ctx.metrics ? { metrics: ctx.metrics } : {}),
  };
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

function deadLetterAt(step: AnyStage, code: string, error: Error | string): StageResult<never> {
  return { kind: 'dead_letter', code, error: typeof error === 'string' ? new Error(error) : error, stage: step.name };
}
