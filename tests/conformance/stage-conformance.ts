/**
 * The stage conformance suite: every stage's own test file calls
 * `runStageConformance(name, makeStage, samples)` (Vector's component spec idea). It checks the
 * contract in docs/stage-spec.md: naming, codecs that never throw, exactly one result per record
 * with snake_case codes, encodable outputs, lifecycle hooks, and an end-to-end run on the runner
 * with the in-memory broker in which every record ends delivered, skipped or dead-lettered. A
 * registered stage's dead-letter codes, skip and defer reasons must be the runtime's or the ones
 * its descriptor lists (those docs/messages.md explains).
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../pipeline/broker-memory.js';
import { RUNTIME_DEAD_LETTER_CODES } from '../../pipeline/codes.js';
import { readDeadLetter } from '../../pipeline/dlq.js';
import { outputFor, outputsByName, outputTopics } from '../../pipeline/outputs.js';
import { StageRunner } from '../../pipeline/runner.js';
import type { Envelope, RawRecord, Stage, StageContext, StageResult } from '../../pipeline/stage.js';
import { consumerGroup, deadLetterTopic, physicalTopic } from '../../pipeline/topics.js';
import type { AnyStageDescriptor } from '../../stages/descriptor.js';
import { stageDescriptors } from '../../stages/registry.js';

export interface ConformanceSample {
  readonly key?: string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, string>>;
  /** What should become of this record; unchecked when omitted. */
  readonly expect?: 'ok' | 'skip' | 'dead_letter';
}

export interface ConformanceOptions {
  /**
   * The stage's results depend only on each record (no cross-record state or I/O): then the
   * suite also checks that batching does not change results. Default false.
   */
  readonly recordIndependent?: boolean;
}

const snakeCase = /^[a-z][a-z0-9_]*$/;
const versionedTopic = /^[a-z0-9_.-]+\.v[0-9]+$/;

function raw(topic: string, sample: ConformanceSample, offset: number): RawRecord {
  const headers: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(sample.headers ?? {})) headers[name] = Buffer.from(value);
  return {
    topic,
    partition: 0,
    offset: String(offset),
    key: sample.key === undefined || sample.key === null ? null : Buffer.from(sample.key),
    value: sample.value === null ? null : Buffer.isBuffer(sample.value) ? sample.value : Buffer.from(sample.value),
    headers,
    timestamp: Date.now(),
  };
}

const garbage: readonly ConformanceSample[] = [
  { value: null },
  { value: '' },
  { value: 'not json {' },
  { value: Buffer.from([0xff, 0xfe, 0x00, 0x01]) },
  { value: '{"unexpected":true}' },
];

function context(stage: string): StageContext {
  return { stage, log: pino({ level: 'silent' }), signal: new AbortController().signal };
}

interface ListedCodes {
  readonly deadLetterCodes: ReadonlySet<string>;
  readonly skipReasons: ReadonlySet<string>;
  readonly deferReasons: ReadonlySet<string>;
}

/** What a registered stage may emit: the runtime's codes and its descriptor's lists; undefined for other stages. */
function listedCodes(name: string): ListedCodes | undefined {
  const descriptor = (stageDescriptors as readonly AnyStageDescriptor[]).find((d) => d.name === name);
  if (!descriptor) return undefined;
  const codes = descriptor.codes ?? {};
  return {
    deadLetterCodes: new Set([...RUNTIME_DEAD_LETTER_CODES, ...(codes.deadLetterCodes ?? [])]),
    skipReasons: new Set(codes.skipReasons ?? []),
    deferReasons: new Set(codes.deferReasons ?? []),
  };
}

function checkResult(result: StageResult<unknown> | undefined, listed: ListedCodes | undefined): void {
  expect(result).toBeDefined();
  const r = result as StageResult<unknown>;
  expect(['ok', 'skip', 'retry', 'defer', 'dead_letter']).toContain(r.kind);
  if (r.kind === 'skip') {
    expect(r.reason).toMatch(snakeCase);
    if (listed) expect([...listed.skipReasons], 'a listed skip reason').toContain(r.reason);
  }
  if (r.kind === 'defer' && listed) expect([...listed.deferReasons], 'a listed defer reason').toContain(r.reason);
  if (r.kind === 'dead_letter') {
    expect(r.code).toMatch(snakeCase);
    if (listed) expect([...listed.deadLetterCodes], 'a listed dead-letter code').toContain(r.code);
    expect(r.error).toBeInstanceOf(Error);
  }
}

export function runStageConformance<In, Out>(
  name: string,
  makeStage: () => Promise<Stage<In, Out>> | Stage<In, Out>,
  samples: readonly ConformanceSample[],
  options: ConformanceOptions = {},
): void {
  describe(`stage conformance: ${name}`, () => {
    it('has a snake_case name, versioned topics and a positive batch size', async () => {
      const stage = await makeStage();
      expect(stage.name).toMatch(snakeCase);
      expect(stage.inputs.length).toBeGreaterThan(0);
      for (const topic of stage.inputs) expect(topic).toMatch(versionedTopic);
      for (const topic of outputTopics(stage as Stage<unknown, unknown>)) expect(topic).toMatch(versionedTopic);
      expect(Number.isInteger(stage.batch.maxRecords) && stage.batch.maxRecords > 0).toBe(true);
      expect(samples.length).toBeGreaterThan(0);
    });

    it('decodes garbage without throwing; undecodable input gets a snake_case code and a message', async () => {
      const stage = await makeStage();
      const topic = stage.inputs[0] as string;
      [...samples, ...garbage].forEach((sample, i) => {
        const decoded = stage.input.decode(raw(topic, sample, i));
        if (!decoded.ok) {
          expect(decoded.code).toMatch(snakeCase);
          const listed = listedCodes(stage.name);
          if (listed) expect([...listed.deadLetterCodes], 'a listed dead-letter code').toContain(decoded.code);
          expect(decoded.message.length).toBeGreaterThan(0);
        }
      });
    });

    it('returns exactly one well-formed result per record, with encodable outputs', async () => {
      const stage = await makeStage();
      const ctx = context(stage.name);
      await stage.init?.(ctx);
      try {
        const topic = stage.inputs[0] as string;
        const envelopes: Envelope<In>[] = [];
        const expected: (ConformanceSample['expect'] | 'dead_letter')[] = [];
        samples.forEach((sample, i) => {
          const record = raw(topic, sample, i);
          const decoded = stage.input.decode(record);
          if (decoded.ok) {
            envelopes.push({ value: decoded.value, raw: record });
            expected.push(sample.expect);
          } else {
            expect(sample.expect ?? 'dead_letter').toBe('dead_letter');
          }
        });
        const results = await stage.process(envelopes, ctx);
        expect(results).toHaveLength(envelopes.length);
        results.forEach((result, i) => {
          checkResult(result, listedCodes(stage.name));
          if (expected[i]) expect(result.kind).toBe(expected[i]);
          if (result.kind === 'ok' && result.outputs.length > 0) {
            const outputs = outputsByName(stage as Stage<unknown, unknown>);
            for (const out of result.outputs) {
              const spec = outputFor(stage as Stage<unknown, unknown>, outputs, out);
              const bytes = spec.codec.encode(out.value);
              expect(Buffer.isBuffer(bytes)).toBe(true);
              expect(typeof (out.key ?? spec.key(out.value))).toBe('string');
            }
          }
        });
        if (options.recordIndependent) {
          const single = [];
          for (const envelope of envelopes) single.push(...(await stage.process([envelope], ctx)));
          expect(single.map((r) => r.kind)).toEqual(results.map((r) => r.kind));
        }
        expect(await stage.process([], ctx)).toEqual([]);
      } finally {
        await stage.close?.();
      }
    });

    it('runs on the runner: every record ends delivered, skipped or dead-lettered, and is committed', async () => {
      const stage = await makeStage();
      const broker = new MemoryBroker({ maxBatchRecords: 7 });
      const naming = { prefix: 'conf' };
      const runner = new StageRunner(
        stage,
        { broker, log: pino({ level: 'silent' }), registry: new Registry() },
        { naming, topicPartitions: 1, commitIntervalMs: 0 },
      );
      await runner.start();
      const input = physicalTopic(naming, stage.inputs[0] as string);
      const all = [...samples, ...garbage];
      for (const sample of all)
        broker.append({
          topic: input,
          partition: 0,
          key: sample.key ?? null,
          value: sample.value,
          headers: sample.headers ?? {},
        });
      const group = consumerGroup(naming, stage.name);
      const deadline = Date.now() + 10_000;
      while (
        broker.committed(group, { topic: input, partition: 0 }) !== BigInt(all.length) &&
        !runner.fatal &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 5));
      }
      await runner.stop();
      expect(runner.fatal).toBeUndefined();
      expect(broker.committed(group, { topic: input, partition: 0 })).toBe(BigInt(all.length));
      const dead = await broker.readTopic(deadLetterTopic(naming, stage.name));
      const undecodable = all.filter((s, i) => !stage.input.decode(raw(input, s, i)).ok);
      expect(dead.length).toBeGreaterThanOrEqual(undecodable.length);
      const listed = listedCodes(stage.name);
      if (listed)
        for (const record of dead)
          expect([...listed.deadLetterCodes], 'a listed dead-letter code').toContain(readDeadLetter(record).code);
      const expectedDead = samples.filter((s) => s.expect === 'dead_letter' && !undecodable.includes(s)).length;
      const garbageDecoded = garbage.filter((s) => !undecodable.includes(s)).length;
      if (samples.every((s) => s.expect !== undefined) && garbageDecoded === 0)
        expect(dead.length).toBe(undecodable.length + expectedDead);
    });
  });
}
