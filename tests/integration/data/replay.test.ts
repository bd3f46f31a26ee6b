import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { replayCommand } from '../../../cli/commands/replay.js';
import { loadEnv } from '../../../config/load.js';

const SAMPLE = 'data/bdg2-sample';
const CLEANED = ['electricity', 'irrigation', 'solar'].map((t) => `${SAMPLE}/meters/cleaned/${t}_cleaned.csv`);

/** Counted without the project's CSV code: CRLF lines, comma cells, skip the timestamp column. */
function expectedReadings(): { total: number; perMeter: Map<string, number> } {
  const perMeter = new Map<string, number>();
  let total = 0;
  for (const file of CLEANED) {
    const type = file.split('/').pop()?.replace('_cleaned.csv', '') ?? '';
    const [header, ...rows] = readFileSync(file, 'utf8').trimEnd().split('\r\n');
    const names = header?.split(',') ?? [];
    for (const row of rows) {
      row.split(',').forEach((cell, i) => {
        if (i === 0 || cell === '') return;
        total++;
        const id = `${names[i]}:${type}`;
        perMeter.set(id, (perMeter.get(id) ?? 0) + 1);
      });
    }
  }
  return { total, perMeter };
}

interface Received {
  key: string;
  time: string;
  timestamp: number;
}

async function readAll(
  kafka: InstanceType<typeof kafkajs.Kafka>,
  topic: string,
  expected: number,
): Promise<Received[]> {
  const consumer = kafka.consumer({ groupId: `${topic}.reader` });
  const out: Received[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${topic}: got ${out.length} of ${expected} messages in 60 s`)),
      60_000,
    );
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const value = JSON.parse(String(m.value)) as { time: string };
          out.push({ key: String(m.key), time: value.time, timestamp: Number(m.timestamp) });
        }
        if (out.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return out;
}

const prefix = `eaio-test-replay-${randomBytes(4).toString('hex')}`;
const env = loadEnv();
const kafka = new kafkajs.Kafka({
  clientId: 'eaio-test',
  brokers: env.KAFKA_BROKERS.split(','),
  logLevel: kafkajs.logLevel.NOTHING,
});

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin
    .deleteTopics({ topics: [`${prefix}.readings.raw.v1`, `${prefix}.weather.raw.v1`] })
    .catch(() => undefined);
  await admin.disconnect();
});

describe('eaio replay --bdg2 data/bdg2-sample on the real broker', () => {
  it('publishes one message per non-empty cell and per weather row, keyed and ordered', async () => {
    const previous = process.env.EAIO_TOPIC_PREFIX;
    process.env.EAIO_TOPIC_PREFIX = prefix;
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await replayCommand.run(['--bdg2', SAMPLE]);
    } finally {
      process.env.EAIO_TOPIC_PREFIX = previous;
      vi.restoreAllMocks();
    }
    const expected = expectedReadings();
    expect(code).toBe(0);
    // 840 weather rows minus the non-existent local hour 2017-03-12 02:00 (spring forward).
    expect(log.mock.calls.flat()).toEqual([
      `${prefix}.readings.raw.v1: ${expected.total}`,
      `${prefix}.weather.raw.v1: 839`,
    ]);

    const readings = await readAll(kafka, `${prefix}.readings.raw.v1`, expected.total);
    const weather = await readAll(kafka, `${prefix}.weather.raw.v1`, 839);
    expect(readings).toHaveLength(expected.total);
    expect(weather).toHaveLength(839);

    const perMeter = new Map<string, number>();
    for (const r of readings) perMeter.set(r.key, (perMeter.get(r.key) ?? 0) + 1);
    expect(perMeter).toEqual(expected.perMeter);
    expect(new Set(weather.map((w) => w.key))).toEqual(new Set(['Panther']));

    // Weather of an hour was acknowledged before any reading of that hour was produced.
    const weatherAt = new Map(weather.map((w) => [w.time, w.timestamp]));
    let checked = 0;
    for (const r of readings) {
      const w = weatherAt.get(r.time);
      if (w === undefined) continue;
      expect(w, r.time).toBeLessThanOrEqual(r.timestamp);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
  });
});
