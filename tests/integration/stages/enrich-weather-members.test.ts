/**
 * enrich_weather scaled out: two `eaio run enrich_weather` processes on the real broker and the
 * real PostgreSQL share the weather and reading partitions, so a reading is often joined by the
 * member that does not consume its site's weather and must find it in weather_observations. The
 * enriched output per (meter, hour) must be what one member alone produces from the same input.
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedReading, ValidatedReading, WeatherObservation } from '../../../domain/messages.js';
import { keysOnPartitions } from '../../../pipeline/index.js';
import { observation, reading } from '../../stages/enrich_weather/test-fixtures.js';
import { type EaioChild, startEaio } from '../resilience/eaio-process.js';
import { createTestDatabase, type TestDatabase } from './pg-test-db.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const kafka = new kafkajs.Kafka({ clientId: 'eaio-test', brokers, logLevel: kafkajs.logLevel.NOTHING });
const admin = kafka.admin();
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const PARTITIONS = 4;

const HOUR = 3_600_000;
const HOURS = 48;
const T0 = Date.parse('2016-06-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
/** Sites with hourly weather; Gap lacks hours 20–22 (joined as of hour 19), Late's weather comes an hour late. */
const WEATHER_SITES = ['Panther', 'Rat', 'Bear', 'Fox', 'Gap', 'Late'] as const;
const GAP_HOURS = new Set([20, 21, 22]);
/** A site without any weather: its readings pass on with weather_missing. */
const WEATHERLESS = 'Dry';
const SITES = [...WEATHER_SITES, WEATHERLESS];
const METERS = SITES.flatMap((site) => [`${site}_b:electricity`, `${site}_b:chilledwater`]);

const weatherAt = (site: string, hour: number): WeatherObservation => ({
  ...observation,
  site_id: site,
  time: iso(T0 + hour * HOUR),
  // Distinct per site and hour, so a join with the wrong hour or site shows.
  air_temperature: SITES.indexOf(site) * 100 + hour,
});
const readingAt = (meter: string, hour: number): ValidatedReading => {
  const building = meter.split(':')[0] as string;
  return {
    ...reading,
    meter_id: meter,
    building_id: building,
    site_id: building.replace(/_b$/, ''),
    meter_type: meter.endsWith('electricity') ? 'electricity' : 'chilledwater',
    time: iso(T0 + hour * HOUR),
    value: hour,
  };
};

type Message = { topic: 'weather' | 'readings'; key: string; value: string };
/** The input in replay order (weather of an hour, then its readings), hours [from, to). */
function input(from: number, to: number): Message[] {
  const out: Message[] = [];
  const weather = (site: string, h: number) =>
    out.push({ topic: 'weather', key: site, value: JSON.stringify(weatherAt(site, h)) });
  for (let h = from; h < to; h++) {
    for (const site of WEATHER_SITES) {
      if (site === 'Late' || (site === 'Gap' && GAP_HOURS.has(h))) continue;
      weather(site, h);
    }
    // Late's weather of the previous hour comes after that hour's readings.
    if (h > from) weather('Late', h - 1);
    for (const meter of METERS) out.push({ topic: 'readings', key: meter, value: JSON.stringify(readingAt(meter, h)) });
  }
  weather('Late', to - 1);
  return out;
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  for (const site of SITES.filter((s) => s !== 'Panther' && s !== 'Rat'))
    await db.sql`INSERT INTO sites (site_id, timezone) VALUES (${site}, 'UTC')`;
  await Promise.all([admin.connect(), producer.connect()]);
});
/** Deleted at the end: the producer keeps asking for the metadata of every topic it sent to. */
const created: string[] = [];
afterAll(async () => {
  await producer.disconnect();
  if (created.length > 0) await admin.deleteTopics({ topics: created }).catch(() => undefined);
  await admin.disconnect();
  await db?.drop();
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readAll(topic: string): Promise<EnrichedReading[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const remaining = new Map(
    ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, Number(e.high)]),
  );
  const out: EnrichedReading[] = [];
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        const end = remaining.get(batch.partition) ?? 0;
        for (const m of batch.messages)
          if (Number(m.offset) < end) out.push(JSON.parse(String(m.value)) as EnrichedReading);
        if (Number(batch.lastOffset()) + 1 >= end) remaining.delete(batch.partition);
        if (remaining.size === 0) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

interface RunResult {
  /** Enriched output per `meter@hour`; each entry every copy that was sent (at-least-once). */
  readonly byReading: Map<string, string[]>;
  /** Per member, the weather and reading partitions it owned while both were members. */
  readonly shares: { weather: number[]; readings: number[] }[];
}

/**
 * Half the input, then the first member, then (with `members` 2) the second one joining while a
 * quarter is produced, and the last quarter once both are members; stopped with SIGTERM once
 * every reading is downstream.
 */
async function run(members: 1 | 2): Promise<RunResult> {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const topic = (name: string) => `${prefix}.${name}`;
  const weatherTopic = topic('weather.raw.v1');
  const readingsTopic = topic('readings.validated.v1');
  const enrichedTopic = topic('readings.enriched.v1');
  await admin.createTopics({
    waitForLeaders: true,
    topics: [weatherTopic, readingsTopic, enrichedTopic, topic('dlq.enrich_weather.v1')].map((t) => ({
      topic: t,
      numPartitions: PARTITIONS,
    })),
  });
  created.push(weatherTopic, readingsTopic, enrichedTopic, topic('dlq.enrich_weather.v1'));
  // Each run starts from an empty store: what one run stored must not help the next.
  await db.sql`TRUNCATE weather_observations`;
  const send = async (messages: Message[]) => {
    for (let i = 0; i < messages.length; i += 50) {
      const chunk = messages.slice(i, i + 50);
      await producer.sendBatch({
        acks: -1,
        topicMessages: (['weather', 'readings'] as const).map((t) => ({
          topic: t === 'weather' ? weatherTopic : readingsTopic,
          messages: chunk.filter((m) => m.topic === t).map(({ key, value }) => ({ key, value })),
        })),
      });
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const group = `${prefix}.stage.enrich_weather`;
  const stable = (n: number) => async () => {
    const { groups } = await admin.describeGroups([group]);
    return groups[0]?.state === 'Stable' && groups[0].members.length === n;
  };
  const env = {
    DATABASE_URL: db.url,
    EAIO_TOPIC_PREFIX: prefix,
    EAIO_TOPIC_PARTITIONS: String(PARTITIONS),
    EAIO_ENRICH_WEATHER_MAX_WAIT_MS: '8000',
    LOG_LEVEL: 'warn',
  };
  const workers: EaioChild[] = [];
  const shares: RunResult['shares'] = [];
  try {
    await send(input(0, HOURS / 2));
    workers.push(startEaio(['run', 'enrich_weather'], env));
    await until(stable(1), 'the first member');
    if (members === 2) workers.push(startEaio(['run', 'enrich_weather'], env));
    await send(input(HOURS / 2, (HOURS * 3) / 4));
    if (members === 2) {
      await until(stable(2), 'two stable members');
      for (const m of (await admin.describeGroups([group])).groups[0]?.members ?? []) {
        const assignment = kafkajs.AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {};
        shares.push({ weather: assignment[weatherTopic] ?? [], readings: assignment[readingsTopic] ?? [] });
      }
    }
    // The last quarter goes to two members for sure (the rest may have been consumed before the join).
    await send(input((HOURS * 3) / 4, HOURS));
    const expected = METERS.length * HOURS;
    await until(
      async () => new Set((await readAll(enrichedTopic)).map((r) => `${r.meter_id}@${r.time}`)).size === expected,
      `all ${expected} readings enriched`,
      90_000,
    );
    for (const w of workers) w.child.kill('SIGTERM');
    const results = await Promise.all(workers.map((w) => w.finished));
    expect(
      results.map((r) => r.code),
      results.map((r) => r.stderr).join('\n'),
    ).toEqual(workers.map(() => 0));
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  }
  const byReading = new Map<string, string[]>();
  for (const r of await readAll(enrichedTopic)) {
    const key = `${r.meter_id}@${r.time}`;
    byReading.set(key, [...(byReading.get(key) ?? []), JSON.stringify(r)]);
  }
  return { byReading, shares };
}

describe('enrich_weather with two members on the real broker and PostgreSQL', () => {
  it('joins every reading as one member alone does, with weather on partitions the other member owns', async () => {
    const one = await run(1);
    const two = await run(2);

    // The setup does what it claims: both members held weather and readings, and some readings
    // were joined by the member that did not consume their site's weather.
    expect(two.shares).toHaveLength(2);
    for (const share of two.shares) {
      expect(share.weather.length).toBeGreaterThan(0);
      expect(share.readings.length).toBeGreaterThan(0);
    }
    const crossed = METERS.filter((meter) => {
      const site = meter.split('_')[0] as string;
      const readingsOwner = two.shares.findIndex((s) => keysOnPartitions([meter], s.readings, PARTITIONS).length > 0);
      const weatherOwner = two.shares.findIndex((s) => keysOnPartitions([site], s.weather, PARTITIONS).length > 0);
      return site !== WEATHERLESS && readingsOwner !== weatherOwner;
    });
    expect(crossed.length, 'meters whose site weather another member consumes').toBeGreaterThan(0);

    // One member's result is the reference: every reading once, weather as of its hour.
    expect(one.byReading.size).toBe(METERS.length * HOURS);
    const reference = new Map([...one.byReading].map(([key, copies]) => [key, copies[0] as string]));
    for (const [key, copies] of one.byReading) expect(new Set(copies).size, key).toBe(1);
    const sample = (meter: string, hour: number) =>
      JSON.parse(reference.get(`${meter}@${iso(T0 + hour * HOUR)}`) ?? '{}') as EnrichedReading;
    expect(sample('Panther_b:electricity', 30).air_temperature).toBe(30);
    expect(sample('Gap_b:chilledwater', 21)).toMatchObject({ air_temperature: 419, weather_time: iso(T0 + 19 * HOUR) });
    expect(sample('Late_b:electricity', 47).air_temperature).toBe(547);
    expect(sample('Dry_b:electricity', 5)).toMatchObject({ weather_missing: true, air_temperature: null });

    // Two members: the same enriched reading for every (meter, hour); re-sent copies identical.
    const differing = [...reference].filter(([key, value]) => (two.byReading.get(key) ?? []).some((c) => c !== value));
    const missing = [...reference.keys()].filter((key) => !two.byReading.has(key));
    expect(missing).toEqual([]);
    expect(differing.map(([key, value]) => ({ key, one: value, two: two.byReading.get(key) }))).toEqual([]);
    expect(two.byReading.size).toBe(reference.size);
    const duplicates = [...two.byReading.values()].reduce((n, copies) => n + copies.length - 1, 0);
    console.log(
      `enrich_weather, two members: ${reference.size} readings equal to one member's, ${crossed.length}/${METERS.length} meters joined across members, ${duplicates} identical re-sent copies`,
    );
  });
});
