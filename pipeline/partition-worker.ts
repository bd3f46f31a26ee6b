/**
 * What happens to one chunk of one partition's records: decode → process (with classification and
 * one-by-one isolation) → DLQ guard → produce outputs and dead letters, awaiting the broker's acks.
 * Returns an outcome; the runner decides about offsets, pausing and stopping.
 */
import type { Logger } from 'pino';
import type { ProduceRecord, ProducerPort } from './broker.js';
import { decodeSafely } from './codecs.js';
import { processErrorCode } from './codes.js';
import { buildDeadLetter, type DlqGuard } from './dlq.js';
import { defaultClassify, type ErrorDisposition, errorMessage, FatalError } from './errors.js';
import type { PipelineMetrics } from './metrics.js';
import { type OutputsByName, outputFor } from './outputs.js';
import type {
  Envelope,
  OutputRecord,
  PartitionEventTime,
  RawRecord,
  Stage,
  StageContext,
  StageResult,
} from './stage.js';
import { deadLetterTopic, physicalTopic, type TopicNaming } from './topics.js';

/** A processed chunk whose outputs and dead letters are ready to be produced. */
export interface PreparedChunk {
  readonly kind: 'ready';
  readonly records: readonly RawRecord[];
  readonly outgoing: readonly ProduceRecord[];
  readonly sent: number;
  readonly deadCodes: ReadonlyMap<string, number>;
  readonly skipReasons: ReadonlyMap<string, number>;
  readonly eventTimes: readonly number[];
}

export type ChunkFailure =
  | { readonly kind: 'retry'; readonly error: unknown }
  | { readonly kind: 'defer'; readonly reason: string; readonly delayMs: number }
  | { readonly kind: 'fatal'; readonly error: unknown };

/** Pause after a `defer` result when the stage names no delay. */
export const defaultDeferDelayMs = 250;

export interface ChunkEnv<In, Out> {
  readonly stage: Stage<In, Out>;
  readonly ctx: StageContext;
  readonly producer: ProducerPort;
  readonly naming: TopicNaming;
  /** The stage's declared outputs by name (outputs.ts). */
  readonly outputs: OutputsByName;
  /** Where dead letters go that name no stage of their own (see StageResult `dead_letter`). */
  readonly dlqTopic: string;
  /** The stage named in those dead letters' headers. */
  readonly dlqStage: string;
  readonly guard: DlqGuard;
  readonly metrics: PipelineMetrics;
  readonly log: Logger;
}

type Slot<In> = {
  readonly raw: RawRecord;
  envelope?: Envelope<In>;
  result?: StageResult<unknown>;
  /** Its dead letter is already acknowledged (sinks with stored offsets, see deliverDeadLettersNow). */
  deadLetterSent?: boolean;
};

class RetryChunk {
  constructor(readonly error: unknown) {}
}

function classify<In, Out>(stage: Stage<In, Out>, error: unknown): ErrorDisposition {
  const own = stage.classifyError?.(error);
  return own && own !== 'unknown' ? own : defaultClassify(error);
}

async function callProcess<In, Out>(
  env: ChunkEnv<In, Out>,
  ctx: StageContext,
  envelopes: readonly Envelope<In>[],
): Promise<readonly StageResult<Out>[]> {
  const results = await env.stage.process(envelopes, ctx);
  if (results.length !== envelopes.length) {
    throw new FatalError(
      `stage ${env.stage.name} returned ${results.length} results for ${envelopes.length} records`,
      'contract_violation',
    );
  }
  return results;
}

/**
 * A record re-run alone sees the event times of the records before it in its chunk, as it did in
 * the whole call: its watermark (EventClock) must not depend on how the chunk was cut.
 */
function withEarlierEventTimes(base: PartitionEventTime, earlier: ReadonlyMap<string, number>): PartitionEventTime {
  return {
    maxEventTime(tp) {
      const before = earlier.get(`${tp.topic}:${tp.partition}`);
      const known = base.maxEventTime(tp);
      if (before === undefined) return known;
      return known === undefined ? before : Math.max(known, before);
    },
    restore: (tp, eventTime) => base.restore(tp, eventTime),
  };
}

/** Runs `process`; on an unclassified throw re-runs record by record so one bad record fails alone. */
async function processWithIsolation<In, Out>(
  env: ChunkEnv<In, Out>,
  ctx: StageContext,
  envelopes: readonly Envelope<In>[],
  afterIsolated?: (envelope: Envelope<In>, result: StageResult<Out>) => Promise<void>,
): Promise<readonly StageResult<Out>[]> {
  try {
    return await callProcess(env, ctx, envelopes);
  } catch (error) {
    // RetryChunk: acknowledging dead letters for the stage (ctx.acknowledgeDeadLetters) hit a transient error.
    if (error instanceof FatalError || error instanceof RetryChunk) throw error;
    const disposition = classify(env.stage, error);
    env.metrics.errors.inc({ stage: env.stage.name, phase: 'process' });
    if (disposition === 'retry') throw new RetryChunk(error);
    if (disposition === 'fatal') throw error;
    if (envelopes.length === 1) {
      return [
        {
          kind: 'dead_letter',
          code: processErrorCode,
          error: error instanceof Error ? error : new Error(String(error)),
        },
      ];
    }
    env.log.warn({ records: envelopes.length, err: errorMessage(error) }, 'batch failed, isolating records one by one');
    const results: StageResult<Out>[] = [];
    const earlier = new Map<string, number>();
    for (const envelope of envelopes) {
      const alone = ctx.eventTime ? { ...ctx, eventTime: withEarlierEventTimes(ctx.eventTime, earlier) } : ctx;
      const [result] = (await processWithIsolation(env, alone, [envelope])) as [StageResult<Out>];
      const key = `${envelope.raw.topic}:${envelope.raw.partition}`;
      if (envelope.eventTime !== undefined && envelope.eventTime > (earlier.get(key) ?? Number.NEGATIVE_INFINITY))
        earlier.set(key, envelope.eventTime);
      // The chunk is re-run after a retry or defer anyway: processing the records after it now
      // would only write them ahead of an unfinished one (and re-send their dead letters later).
      if (result.kind === 'retry' || result.kind === 'defer') {
        while (results.length < envelopes.length) results.push(result);
        return results;
      }
      results.push(result);
      await afterIsolated?.(envelope, result);
    }
    return results;
  }
}

/** Each record encoded with the codec and key of the output it addresses. */
function toProduceRecords<In, Out>(env: ChunkEnv<In, Out>, outputs: readonly OutputRecord<unknown>[]): ProduceRecord[] {
  return outputs.map((out) => {
    const spec = outputFor(env.stage, env.outputs, out);
    return {
      topic: physicalTopic(env.naming, spec.topic),
      key: out.key ?? spec.key(out.value),
      value: spec.codec.encode(out.value),
      headers: out.headers ?? {},
    };
  });
}

/** Side outputs acknowledged ahead of a storing step (StageContext.acknowledgeOutputs). */
async function deliverOutputsNow<In, Out>(env: ChunkEnv<In, Out>, outputs: readonly OutputRecord<unknown>[]) {
  if (outputs.length === 0) return;
  const records = toProduceRecords(env, outputs);
  try {
    await env.producer.send(records);
  } catch (error) {
    env.metrics.errors.inc({ stage: env.stage.name, phase: 'produce' });
    if (classify(env.stage, error) === 'retry') throw new RetryChunk(error);
    throw new FatalError(`side outputs not acknowledged: ${errorMessage(error)}`, 'output_produce_failed', {
      cause: error,
    });
  }
  env.metrics.sent.inc({ stage: env.stage.name }, records.length);
}

function deadLetterRecord<In, Out>(
  env: ChunkEnv<In, Out>,
  slot: Slot<In>,
  attempts: number,
): ProduceRecord | undefined {
  const result = slot.result;
  if (result?.kind !== 'dead_letter' || slot.deadLetterSent) return undefined;
  const [stage, topic] = result.stage
    ? [result.stage, deadLetterTopic(env.naming, result.stage)]
    : [env.dlqStage, env.dlqTopic];
  return buildDeadLetter(stage, topic, slot.raw, {
    code: result.code,
    message: result.error.message,
    attempts: attempts + 1,
  });
}

/**
 * A sink that stores its offsets with its rows moves them past a dead-lettered record as soon as
 * it writes a later one. So for such a stage the dead letters known so far are acknowledged before
 * `process` runs again: a crash can then never leave a stored offset past a dead letter that the
 * broker does not have. (Dead letters are at-least-once: a re-run chunk sends them again.)
 */
async function deliverDeadLettersNow<In, Out>(
  env: ChunkEnv<In, Out>,
  slots: readonly Slot<In>[],
  attempts: number,
): Promise<void> {
  const pending = slots.flatMap((slot) => {
    const record = deadLetterRecord(env, slot, attempts);
    return record ? [{ slot, record }] : [];
  });
  if (pending.length === 0) return;
  try {
    await env.producer.send(pending.map((p) => p.record));
  } catch (error) {
    env.metrics.errors.inc({ stage: env.stage.name, phase: 'produce' });
    if (classify(env.stage, error) === 'retry') throw new RetryChunk(error);
    throw error;
  }
  for (const { slot } of pending) slot.deadLetterSent = true;
}

/**
 * Decodes and processes one chunk and builds what it must produce; nothing is sent yet, so the
 * runner can send the chunks of one fetched batch together (one acknowledged request per batch).
 */
export async function prepareChunk<In, Out>(
  env: ChunkEnv<In, Out>,
  records: readonly RawRecord[],
  attempts: number,
): Promise<PreparedChunk | ChunkFailure> {
  const stage = env.stage.name;
  const slots: Slot<In>[] = records.map((raw) => ({ raw }));
  for (const slot of slots) {
    const decoded = decodeSafely(env.stage.input, slot.raw);
    if (decoded.ok) {
      slot.envelope = {
        value: decoded.value,
        raw: slot.raw,
        ...(decoded.eventTime === undefined ? {} : { eventTime: decoded.eventTime }),
      };
    } else {
      env.metrics.errors.inc({ stage, phase: 'decode' });
      slot.result = { kind: 'dead_letter', code: decoded.code, error: new Error(decoded.message) };
    }
  }

  const decodedSlots = slots.filter((s) => s.envelope !== undefined);
  const storesOffsets = env.stage.loadStoredOffsets !== undefined;
  const slotOf = new Map(decodedSlots.map((s) => [s.raw, s]));
  const ctx: StageContext = storesOffsets
    ? {
        ...env.ctx,
        async acknowledgeDeadLetters(deadLetters) {
          const acknowledged = deadLetters.flatMap(({ raw, result }) => {
            const slot = slotOf.get(raw);
            if (!slot || result.kind !== 'dead_letter') return [];
            slot.result = result;
            return [slot];
          });
          try {
            await deliverDeadLettersNow(env, acknowledged, attempts);
          } catch (error) {
            // Not the stage's fault: never let it look like a record's (isolation, process_error).
            if (error instanceof RetryChunk || error instanceof FatalError) throw error;
            throw new FatalError(`dead letters not acknowledged: ${errorMessage(error)}`, 'dlq_produce_failed', {
              cause: error,
            });
          }
        },
        acknowledgeOutputs: (outputs) => deliverOutputsNow(env, outputs),
      }
    : env.ctx;
  try {
    if (storesOffsets) await deliverDeadLettersNow(env, slots, attempts);
    if (decodedSlots.length > 0) {
      const results = await processWithIsolation(
        env,
        ctx,
        decodedSlots.map((s) => s.envelope as Envelope<In>),
        storesOffsets
          ? async (envelope, result) => {
              const slot = slotOf.get(envelope.raw) as Slot<In>;
              slot.result = result;
              await deliverDeadLettersNow(env, [slot], attempts);
            }
          : undefined,
      );
      decodedSlots.forEach((slot, i) => {
        slot.result = results[i];
      });
      if (storesOffsets) await deliverDeadLettersNow(env, slots, attempts);
    }
  } catch (error) {
    if (error instanceof RetryChunk) return { kind: 'retry', error: error.error };
    return { kind: 'fatal', error };
  }

  const retryResult = slots.find((s) => s.result?.kind === 'retry');
  if (retryResult?.result?.kind === 'retry') return { kind: 'retry', error: retryResult.result.error };
  const deferred = slots.find((s) => s.result?.kind === 'defer')?.result;
  if (deferred?.kind === 'defer')
    return { kind: 'defer', reason: deferred.reason, delayMs: deferred.delayMs ?? defaultDeferDelayMs };

  const outgoing: ProduceRecord[] = [];
  const deadCodes = new Map<string, number>();
  const skipReasons = new Map<string, number>();
  const eventTimes: number[] = [];
  let sent = 0;
  try {
    for (const slot of slots) {
      const result = slot.result as StageResult<Out>;
      if (slot.envelope?.eventTime !== undefined) eventTimes.push(slot.envelope.eventTime);
      if (result.kind === 'ok') {
        const outputs = toProduceRecords(env, result.outputs);
        sent += outputs.length;
        for (const output of outputs) outgoing.push(output);
      } else if (result.kind === 'skip') {
        skipReasons.set(result.reason, (skipReasons.get(result.reason) ?? 0) + 1);
      } else if (result.kind === 'dead_letter') {
        deadCodes.set(result.code, (deadCodes.get(result.code) ?? 0) + 1);
        const record = deadLetterRecord(env, slot, attempts);
        if (record) outgoing.push(record);
      }
    }
    // Checked before anything is produced: a tripped guard dead-letters nothing and commits nothing
    // (for sinks with stored offsets, dead letters already sent by deliverDeadLettersNow stay sent).
    env.guard.observe(slots.map((s) => s.result?.kind === 'dead_letter'));
  } catch (error) {
    return { kind: 'fatal', error };
  }
  return { kind: 'ready', records, outgoing, sent, deadCodes, skipReasons, eventTimes };
}

/** Produces the prepared chunks in one request and waits for the broker's acknowledgement. */
export async function deliverChunks<In, Out>(
  env: ChunkEnv<In, Out>,
  chunks: readonly PreparedChunk[],
): Promise<ChunkFailure | undefined> {
  const stage = env.stage.name;
  const outgoing = chunks.length === 1 ? (chunks[0] as PreparedChunk).outgoing : chunks.flatMap((c) => c.outgoing);
  if (outgoing.length > 0) {
    try {
      await env.producer.send(outgoing);
    } catch (error) {
      env.metrics.errors.inc({ stage, phase: 'produce' });
      return classify(env.stage, error) === 'retry' ? { kind: 'retry', error } : { kind: 'fatal', error };
    }
  }
  const now = Date.now();
  for (const chunk of chunks) {
    env.metrics.sent.inc({ stage }, chunk.sent);
    let deadLettered = 0;
    for (const [code, count] of chunk.deadCodes) {
      env.metrics.deadLettered.inc({ stage, code }, count);
      deadLettered += count;
    }
    for (const [reason, count] of chunk.skipReasons) env.metrics.skipped.inc({ stage, reason }, count);
    if (deadLettered > 0) {
      const first = chunk.records[0];
      env.log.warn(
        {
          topic: first?.topic,
          partition: first?.partition,
          records: chunk.records.length,
          deadLettered,
          codes: Object.fromEntries(chunk.deadCodes),
        },
        'records dead-lettered',
      );
    }
    // The labelled child once per chunk: prom-client hashes a label object on every observe.
    const lag = env.metrics.eventLag.labels({ stage });
    for (const eventTime of chunk.eventTimes) lag.observe(Math.max(0, now - eventTime) / 1000);
  }
  return undefined;
}
