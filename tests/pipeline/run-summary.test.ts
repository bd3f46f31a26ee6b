/**
 * The run summary: per-stage figures read from the worker's registry when it stops, equal to what
 * its /metrics served, with the stage's own counters and the `pipeline` label on every series.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../pipeline/broker-memory.js';
import { FatalError } from '../../pipeline/errors.js';
import { formatRunSummary, type RunSummary } from '../../pipeline/run-summary.js';
import { deadLetter, ok, skip } from '../../pipeline/stage.js';
import { runWorker } from '../../pipeline/worker.js';
import { echoStage, eventually } from './helpers.js';

const RECORDS = 60;

/** Every 10th record skipped, every 7th (not 10th) dead-lettered, the rest forwarded; evens counted as the stage's own. */
function accountingStage() {
  return echoStage(undefined, {
    async process(batch, ctx) {
      ctx.metrics?.counter('evens_seen', 'Even ids (test).').inc(batch.filter((e) => e.value.id % 2 === 0).length);
      ctx.metrics
        ?.counter('by_parity', 'Ids by parity (test).', ['parity'])
        .inc(1, { parity: batch[0] && batch[0].value.id % 2 === 0 ? 'even' : 'odd' });
      return batch.map(({ value }) => {
        if (value.id % 10 === 0) return skip(value.id % 20 === 0 ? 'twenty' : 'ten');
        if (value.id % 7 === 0) return deadLetter('sevens', 'a multiple of 7');
        return ok({ value });
      });
    },
  });
}

function fill(broker: MemoryBroker, topic: string): void {
  broker.createTopic(topic, 2);
  for (let id = 1; id <= RECORDS; id++)
    broker.append({ topic, key: `k${id % 5}`, value: JSON.stringify({ id, key: `k${id % 5}` }) });
}

/** A Prometheus text exposition by series, keyed `name{a="x",b="y"}` with the labels sorted. */
function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    const [, name, labels = ''] = /^([^{]+)(?:\{(.*)\})?$/.exec(line.slice(0, at)) ?? [];
    series.set(
      seriesKey(name ?? '', Object.fromEntries([...labels.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))),
      Number(line.slice(at + 1)),
    );
  }
  return series;
}

const seriesKey = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

const expected = (() => {
  const ids = Array.from({ length: RECORDS }, (_, i) => i + 1);
  const skipped = ids.filter((id) => id % 10 === 0);
  const dead = ids.filter((id) => id % 10 !== 0 && id % 7 === 0);
  return {
    received: RECORDS,
    sent: RECORDS - skipped.length - dead.length,
    skipped: {
      ten: skipped.filter((id) => id % 20 !== 0).length,
      twenty: skipped.filter((id) => id % 20 === 0).length,
    },
    deadLettered: { sevens: dead.length },
    evens: ids.filter((id) => id % 2 === 0).length,
  };
})();

describe('run summary', () => {
  it('after a signal: every figure equals the /metrics scrape taken before it, and they add up', async () => {
    const broker = new MemoryBroker();
    fill(broker, 'sum.in.v1');
    let port = 0;
    let summary: RunSummary | undefined;
    const exit = runWorker({
      stages: [accountingStage()],
      broker,
      log: pino({ level: 'silent' }),
      runner: { naming: { prefix: 'sum' }, topicPartitions: 2 },
      http: { host: '127.0.0.1', port: 0 },
      onListening: (p) => {
        port = p;
      },
      onSummary: (s) => {
        summary = s;
      },
    });
    let scraped = new Map<string, number>();
    await eventually(async () => {
      if (port === 0) return false;
      scraped = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      return scraped.get(seriesKey('pipeline_records_received_total', { stage: 'echo', pipeline: 'sum' })) === RECORDS;
    }, 'every record received');
    // Sent counts once the broker acknowledged: wait for the last batch's acknowledgement too.
    await eventually(async () => {
      scraped = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      return (
        scraped.get(seriesKey('pipeline_records_sent_total', { stage: 'echo', pipeline: 'sum' })) === expected.sent
      );
    }, 'every output acknowledged');
    process.emit('SIGTERM');
    expect(await exit).toBe(0);

    expect(summary).toMatchObject({ pipeline: 'sum', reason: 'signal', exitCode: 0 });
    const [echo] = summary?.stages ?? [];
    expect(echo).toEqual({
      stage: 'echo',
      received: expected.received,
      sent: expected.sent,
      skipped: expected.skipped,
      deadLettered: expected.deadLettered,
      retries: 0,
      deferrals: {},
      counters: { evens_seen: expected.evens, by_parity: expect.any(Object) },
    });
    const s = echo as NonNullable<typeof echo> & {
      skipped: { ten: number; twenty: number };
      deadLettered: { sevens: number };
    };
    expect(s.received).toBe(s.sent + s.skipped.ten + s.skipped.twenty + s.deadLettered.sevens);

    // The same figures as the scrape, series by series, each labelled with the pipeline.
    const at = (name: string, labels: Record<string, string> = {}) =>
      scraped.get(seriesKey(name, { stage: 'echo', pipeline: 'sum', ...labels }));
    expect(at('pipeline_records_received_total')).toBe(s.received);
    expect(at('pipeline_records_sent_total')).toBe(s.sent);
    expect(at('pipeline_records_skipped_total', { reason: 'ten' })).toBe(s.skipped.ten);
    expect(at('pipeline_records_skipped_total', { reason: 'twenty' })).toBe(s.skipped.twenty);
    expect(at('pipeline_records_dead_lettered_total', { code: 'sevens' })).toBe(s.deadLettered.sevens);
    expect(at('eaio_evens_seen_total')).toBe(s.counters.evens_seen);
    const parity = s.counters.by_parity as Record<string, number>;
    expect(Object.keys(parity).every((k) => /^parity=(even|odd)$/.test(k))).toBe(true);
    for (const [key, value] of Object.entries(parity))
      expect(at('eaio_by_parity_total', { parity: key.slice('parity='.length) })).toBe(value);
    const unlabelled = [...scraped.keys()].filter((k) => !k.includes('pipeline="sum"'));
    expect(unlabelled).toEqual([]);

    const text = formatRunSummary(summary as RunSummary);
    expect(text).toMatch(/^eaio run stopped \(signal, exit 0\)/);
    expect(text).toMatch(
      new RegExp(
        `^echo +${s.received} +${s.sent} +${s.skipped.ten + s.skipped.twenty} +${s.deadLettered.sevens} +0 +0$`,
        'm',
      ),
    );
    expect(text).toContain(`dead-lettered: sevens ${s.deadLettered.sevens}`);
    expect(text).toContain(`evens seen ${expected.evens}`);
  });

  it('a worker that exits when idle, or on a fatal error, still leaves its figures', async () => {
    const broker = new MemoryBroker();
    fill(broker, 'idle.in.v1');
    let summary: RunSummary | undefined;
    const code = await runWorker({
      stages: [accountingStage()],
      broker,
      log: pino({ level: 'silent' }),
      runner: { naming: { prefix: 'idle' }, topicPartitions: 2 },
      exitWhenIdle: true,
      idleCheckMs: 5,
      onSummary: (s) => {
        summary = s;
      },
    });
    expect(code).toBe(0);
    expect(summary).toMatchObject({
      pipeline: 'idle',
      reason: 'idle',
      stages: [{ stage: 'echo', received: expected.received, sent: expected.sent }],
    });

    const failing = new MemoryBroker();
    failing.createTopic('fatal.in.v1', 1);
    failing.append({ topic: 'fatal.in.v1', key: 'k', value: '{"id":1,"key":"k"}' });
    const fatal = await runWorker({
      stages: [
        echoStage(async () => {
          throw new FatalError('boom');
        }),
      ],
      broker: failing,
      log: pino({ level: 'silent' }),
      runner: { naming: { prefix: 'fatal' }, topicPartitions: 1 },
      onSummary: (s) => {
        summary = s;
      },
    });
    expect(fatal).toBe(1);
    expect(summary).toMatchObject({ reason: 'fatal', exitCode: 1, stages: [{ stage: 'echo', received: 1, sent: 0 }] });
  });
});
