import { describe, expect, it } from 'vitest';
import { chainStages } from '../../pipeline/chain.js';
import { jsonCodec } from '../../pipeline/codecs.js';
import { dlqHeader } from '../../pipeline/dlq.js';
import { TransientError } from '../../pipeline/errors.js';
import { deadLetter, defer, type Envelope, ok, type Stage, skip } from '../../pipeline/stage.js';
import {
  committedTotal,
  eventually,
  inTopic,
  metricValue,
  naming,
  type Reading,
  readingCodec,
  setup,
} from './helpers.js';

type Checked = Reading & { readonly checked: true };

const parseChecked = (value: unknown): Checked => {
  const r = readingCodec.adopt?.(value, '') as ReturnType<typeof readingCodec.decode>;
  if (!r.ok) throw new Error(r.message);
  if ((r.value as Partial<Checked>).checked !== true) throw new Error('no checked flag');
  return r.value as Checked;
};
/** What check emits and join emits. */
const checkedCodec = jsonCodec<Checked>(parseChecked);
/** What join reads: the same parser in another codec, which does not trust check's values unchecked. */
const joinInputCodec = jsonCodec<Checked>(parseChecked);
/** The same without `adopt`: the chain encodes and decodes the bytes between the steps. */
const checkedBytesCodec = { decode: checkedCodec.decode, encode: checkedCodec.encode };

/** Step 0: dead-letters `bad`, skips every id ending in 9, flags the rest; id 13 is emitted unflagged. */
function checkStage(): Stage<Reading, Checked> {
  return {
    name: 'check',
    inputs: ['in.v1'],
    input: readingCodec,
    output: { topic: 'mid.v1', codec: checkedCodec as never, key: (r) => r.key },
    batch: { maxRecords: 10 },
    async process(batch) {
      return batch.map(({ value: r }) => {
        if (r.bad) return deadLetter('bad_reading', `reading ${r.id} is bad`);
        if (r.id % 10 === 9) return skip('dup');
        return ok({ value: (r.id === 13 ? { ...r } : { ...r, checked: true }) as Checked });
      });
    },
  };
}

/** Step 1: reads the middle topic and a side topic of its own; `hooks` let a test make it defer or fail. */
function joinStage(hooks: { process?: (ids: number[]) => 'defer' | 'throw' | undefined } = {}) {
  const side: number[] = [];
  const stage: Stage<Checked, Checked> = {
    name: 'join',
    inputs: ['mid.v1', 'side.v1'],
    input: joinInputCodec as never,
    output: { topic: 'out.v1', codec: checkedCodec as never, key: (r) => r.key },
    batch: { maxRecords: 10 },
    classifyError: (error) => (error instanceof TransientError ? 'retry' : 'unknown'),
    async process(batch) {
      const action = hooks.process?.(batch.map((e) => e.value.id));
      if (action === 'throw') throw new TransientError('join store busy');
      if (action === 'defer') return batch.map(() => defer('side_not_arrived', 1));
      return batch.map((e) => {
        if (e.raw.topic.endsWith('side.v1')) {
          side.push(e.value.id);
          return ok();
        }
        return ok({ value: e.value });
      });
    },
  };
  return { stage, side };
}

/** Step 2: a sink that stores max offset + 1 per call, as the PostgreSQL writer does with its rows. */
function storeStage(onCall?: (batch: readonly Envelope<Checked>[]) => void) {
  const rows: { id: number; topic: string; offset: string }[] = [];
  const stored = new Map<string, bigint>();
  const stage: Stage<Checked> = {
    name: 'store',
    inputs: ['out.v1'],
    input: checkedBytesCodec,
    batch: { maxRecords: 10 },
    async process(batch, ctx) {
      onCall?.(batch);
      if (batch.some((e) => e.value.id === 21)) throw new Error('row 21 violates a constraint');
      for (const e of batch) rows.push({ id: e.value.id, topic: e.raw.topic, offset: e.raw.offset });
      // As the writer does: the chain's input end when offered, else the batch's own.
      const offsets = ctx.inputEnd ?? batch.map((e) => ({ ...e.raw, offset: (BigInt(e.raw.offset) + 1n).toString() }));
      for (const o of offsets) {
        const key = `${o.topic}:${o.partition}`;
        if (BigInt(o.offset) > (stored.get(key) ?? 0n)) stored.set(key, BigInt(o.offset));
      }
      return batch.map(() => ok());
    },
    loadStoredOffsets: async () => [],
  };
  return { stage, rows, stored };
}

const chainGroup = 't.stage.check+join+store';

describe('chained stages (pipeline/chain.ts) on the in-memory broker', () => {
  it('hands records from step to step in memory and accounts for every input', async () => {
    const { broker, registry, makeRunner, produce } = setup(2);
    broker.createTopic('t.side.v1', 2);
    const join = joinStage();
    const store = storeStage();
    const chain = chainStages([checkStage(), join.stage, store.stage], naming);
    expect(chain.name).toBe('check+join+store');
    expect(chain.inputs).toEqual(['in.v1', 'side.v1']);
    const runner = makeRunner(chain as never);
    await runner.start();
    produce(30, 0, (id) => (id === 4 || id === 17 ? { bad: true } : {}));
    broker.append({ topic: 't.side.v1', key: 'm1', value: JSON.stringify({ id: 100, key: 'm1', checked: true }) });
    await eventually(
      () => committedTotal(broker, chainGroup, inTopic) === 30 && committedTotal(broker, chainGroup, 't.side.v1') === 1,
      'all committed',
    );
    await runner.stop();
    expect(runner.fatal).toBeUndefined();

    // 30 inputs: 2 bad (check), 3 skipped (9, 19, 29), 13 unflagged (join's decode), 21 rejected by the sink.
    expect(store.rows.map((r) => r.id).sort((a, b) => a - b)).toEqual(
      [...Array(30).keys()].filter((id) => ![4, 17, 9, 19, 29, 13, 21].includes(id)),
    );
    // The sink sees the chain's input record: its offsets are the ones to store.
    expect(new Set(store.rows.map((r) => r.topic))).toEqual(new Set([inTopic]));
    expect(join.side).toEqual([100]);
    // The topics between the steps are never written.
    expect(broker.topics.get('t.mid.v1')?.flat() ?? []).toEqual([]);
    expect(broker.topics.get('t.out.v1')?.flat() ?? []).toEqual([]);

    const deadIn = async (stage: string) =>
      (await broker.readTopic(`t.dlq.${stage}.v1`)).map((r) => ({
        id: (JSON.parse(String(r.value)) as Reading).id,
        stage: String(r.headers[dlqHeader.stage]),
        code: String(r.headers[dlqHeader.code]),
        source: String(r.headers[dlqHeader.sourceTopic]),
        trace: String(r.headers.trace),
      }));
    expect((await deadIn('check')).sort((a, b) => a.id - b.id)).toEqual([
      { id: 4, stage: 'check', code: 'bad_reading', source: inTopic, trace: 'tr-4' },
      { id: 17, stage: 'check', code: 'bad_reading', source: inTopic, trace: 'tr-17' },
    ]);
    // Original bytes of the chain input (no `checked` flag), so a replay re-runs the whole chain.
    expect(await deadIn('join')).toEqual([
      { id: 13, stage: 'join', code: 'invalid_payload', source: inTopic, trace: 'tr-13' },
    ]);
    expect(await deadIn('store')).toEqual([
      { id: 21, stage: 'store', code: 'process_error', source: inTopic, trace: 'tr-21' },
    ]);
    expect(await metricValue(registry, 'pipeline_records_skipped_total', { stage: 'check+join+store' })).toBe(3);
    expect(await metricValue(registry, 'pipeline_records_received_total', { stage: 'check+join+store' })).toBe(31);
  });

  it('acknowledges dead letters of earlier steps before the last step stores offsets past them', async () => {
    const { broker, makeRunner, produce } = setup(1);
    broker.createTopic('t.side.v1', 1);
    const violations: string[] = [];
    const store = storeStage((batch) => {
      const dead = ['check', 'join', 'store'].flatMap((s) =>
        (broker.topics.get(`t.dlq.${s}.v1`) ?? []).flat().map((r) => Number(String(r.headers[dlqHeader.sourceOffset]))),
      );
      const storing = Math.max(...batch.map((e) => Number(e.raw.offset))) + 1;
      for (const offset of [4, 13, 17])
        if (storing > offset && !dead.includes(offset)) violations.push(`${storing}>${offset}`);
    });
    const runner = makeRunner(chainStages([checkStage(), joinStage().stage, store.stage], naming) as never);
    await runner.start();
    produce(30, 0, (id) => (id === 4 || id === 17 ? { bad: true } : {}));
    await eventually(() => committedTotal(broker, chainGroup, inTopic) === 30, 'committed');
    await runner.stop();
    expect(violations).toEqual([]);
  });

  it("retries a step's transient error and re-runs a deferred chunk without using the retry budget", async () => {
    const { broker, registry, makeRunner, produce } = setup(1);
    broker.createTopic('t.side.v1', 1);
    let throws = 2;
    let defers = 8; // more than the retry budget's 5 attempts
    const join = joinStage({
      process: () => {
        if (throws-- > 0) return 'throw';
        if (defers-- > 0) return 'defer';
        return undefined;
      },
    });
    const store = storeStage();
    const runner = makeRunner(chainStages([checkStage(), join.stage, store.stage], naming) as never);
    await runner.start();
    produce(8);
    await eventually(() => committedTotal(broker, chainGroup, inTopic) === 8, 'committed');
    await runner.stop();
    expect(runner.fatal).toBeUndefined();
    expect(store.rows.map((r) => r.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(await metricValue(registry, 'pipeline_retries_total', { stage: 'check+join+store' })).toBe(2);
    expect(
      await metricValue(registry, 'pipeline_deferrals_total', {
        stage: 'check+join+store',
        reason: 'side_not_arrived',
      }),
    ).toBe(8);
  });

  it("stores the end of the chain's input chunk, also when its last records never reach the sink", async () => {
    const { broker, makeRunner, produce } = setup(1);
    broker.createTopic('t.side.v1', 1);
    const calls: number[][] = [];
    const store = storeStage((batch) => calls.push(batch.map((e) => e.value.id)));
    const runner = makeRunner(chainStages([checkStage(), joinStage().stage, store.stage], naming) as never);
    await runner.start();
    produce(10, 0, (id) => (id === 8 ? { bad: true } : {})); // 8 dead-lettered, 9 skipped: the tail
    produce(5, 10, () => ({ bad: true })); // a chunk nothing of which reaches the sink
    await eventually(() => committedTotal(broker, chainGroup, inTopic) === 15, 'committed');
    await runner.stop();
    expect(store.stored.get(`${inTopic}:0`)).toBe(15n);
    expect(calls.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('refuses chains whose stages do not connect, or whose offset-storing stage is not last', () => {
    const store = storeStage().stage;
    expect(() => chainStages([checkStage(), store], naming)).toThrow(/store does not read mid.v1/);
    expect(() => chainStages([store, checkStage()], naming)).toThrow(/only be the last stage/);
    expect(() => chainStages([checkStage()], naming)).toThrow(/at least two/);
  });

  it('takes a value typed for the same codec (or a trusted one) as it is, and checks any other', () => {
    let parsed = 0;
    const parse = (v: unknown) => {
      parsed++;
      return v as Reading;
    };
    const own = jsonCodec<Reading>(parse);
    const other = jsonCodec<Reading>(parse);
    const trusting = jsonCodec<Reading>(parse, undefined, { trusts: [other] });
    const value = { id: 1, key: 'm1' };
    expect(own.adopt?.(value, 't', own)).toEqual({ ok: true, value });
    expect(trusting.adopt?.(value, 't', other)).toEqual({ ok: true, value });
    expect(parsed).toBe(0);
    own.adopt?.(value, 't', other);
    own.adopt?.(value, 't');
    expect(parsed).toBe(2);
  });
});
