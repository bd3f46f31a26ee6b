/**
 * embed_profiles on the real services: Kafka (through the runner), PostgreSQL (catalog, rebuild
 * source) and Milvus (unique collections per test, dropped at the end).
 */
import { randomUUID } from 'node:crypto';
import type { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { pino } from 'pino';
import postgres from 'postgres';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../../config/load.js';
import { type Envelope, KafkaBroker, type RawRecord, type StageContext, StageRunner } from '../../../pipeline/index.js';
import { embedProfilesSettings, toEmbedProfilesConfig } from '../../../stages/embed_profiles/config.js';
import { HOUR_MS, localDay, localHourOf } from '../../../stages/embed_profiles/day.js';
import type { EmbedInput, ScoredReadingInput } from '../../../stages/embed_profiles/input.js';
import { patternId, signatureId } from '../../../stages/embed_profiles/milvus-store.js';
import { findSimilarAnomalies, findSimilarBuildings } from '../../../stages/embed_profiles/search.js';
import { createEmbedProfilesStage, type EmbedProfilesStage } from '../../../stages/embed_profiles/stage.js';
import { connectMilvus } from '../../../stages/shared/milvus-client.js';
import { createTestDatabase, type TestDatabase } from './pg-test-db.js';

const ZONE = 'US/Eastern';
const env = loadEnv();
const log = pino({ level: 'silent' });
let db: TestDatabase;
let milvus: MilvusClient;
const collections: string[] = [];
const prefixes: string[] = [];
const kafka = new KafkaBroker({
  brokers: env.KAFKA_BROKERS.split(','),
  clientId: 'eaio-test',
  log,
  sessionTimeoutMs: 6_000,
});

const BUILDINGS = [
  ['Panther_office_Karla', 'Panther', 'office'],
  ['Panther_office_Twin', 'Panther', 'office'],
  ['Panther_lodging_Flat', 'Panther', 'lodging_residential'],
  ['Rat_parking_Night', 'Rat', 'parking'],
] as const;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql`UPDATE buildings SET building_use_type = 'office', floor_area_sqm = 2500 WHERE building_id = 'Panther_office_Karla'`;
  for (const [id, site, use] of BUILDINGS.slice(1)) {
    await db.sql`INSERT INTO buildings (building_id, site_id, timezone, building_use_type, floor_area_sqm)
      VALUES (${id}, ${site}, ${ZONE}, ${use}, 2500)`;
    await db.sql`INSERT INTO energy_meters (meter_id, building_id, meter_type, unit)
      VALUES (${`${id}:electricity`}, ${id}, 'electricity', 'kWh')`;
  }
  await db.sql`SELECT eaio_ensure_partitions('2017-01-01', '2017-12-31')`;
  milvus = await connectMilvus(env.MILVUS_ADDRESS);
});

afterAll(async () => {
  for (const c of collections) await milvus?.dropCollection({ collection_name: c }).catch(() => undefined);
  await milvus?.closeConnection();
  if (prefixes.length) {
    const admin = kafka.kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(`${p}.`)));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }
  await db?.drop();
});

function uniqueCollections() {
  const base = `t_embed_${randomUUID().slice(0, 8)}`;
  const names = { patterns: `${base}_p`, signatures: `${base}_s` };
  collections.push(names.patterns, names.signatures);
  return names;
}

function makeStage(names: { patterns: string; signatures: string }): EmbedProfilesStage {
  const config = {
    ...toEmbedProfilesConfig(embedProfilesSettings.parse({})),
    collections: names,
    maxRecords: 100,
  };
  return createEmbedProfilesStage({
    config,
    clients: { postgres: () => postgres(db.url, { max: 2, onnotice: () => undefined }), startupWaitMs: 5_000 },
    milvusAddress: env.MILVUS_ADDRESS,
  });
}

type Shape = (localHour: number, dayIndex: number) => number;
const office: Shape = (h, d) => (h >= 8 && h < 18 ? 20 : 5) + (d % 3) * 0.5;
const flat: Shape = (h) => 12 + Math.sin(h);
const night: Shape = (h) => (h >= 7 && h < 19 ? 2 : 15);

/** Hourly readings of a building over local days [first, first + days). */
function readings(
  building: string,
  site: string,
  shape: Shape,
  first: string,
  days: number,
  scale = 1,
): ScoredReadingInput[] {
  const out: ScoredReadingInput[] = [];
  for (let d = 0; d < days; d++) {
    const date = new Date(Date.parse(`${first}T00:00:00Z`) + d * 86_400_000).toISOString().slice(0, 10);
    const day = localDay(ZONE, date);
    for (let t = day.startMs; t < day.endMs; t += HOUR_MS)
      out.push({
        meter_id: `${building}:electricity`,
        building_id: building,
        site_id: site,
        meter_type: 'electricity',
        time: new Date(t).toISOString(),
        value: Math.round(shape(localHourOf(ZONE, t), d) * scale * 1000) / 1000,
        air_temperature: 5,
        dew_temperature: 0,
      });
  }
  return out;
}

/** Calls the stage like the runner does, keeping each partition's event time between calls. */
function directRunner(stage: EmbedProfilesStage) {
  const max = new Map<number, number>();
  const ctx: StageContext = {
    stage: 'embed_profiles',
    log,
    signal: new AbortController().signal,
    eventTime: {
      maxEventTime: (tp) => max.get(tp.partition),
      restore: (tp, t) => max.set(tp.partition, Math.max(max.get(tp.partition) ?? t, t)),
    },
  };
  let offset = 0;
  return {
    ctx,
    async start() {
      await stage.init?.(ctx);
      await stage.onPartitionsAssigned?.(
        [
          { topic: 't.readings.scored.v1', partition: 0 },
          { topic: 't.anomalies.v1', partition: 0 },
        ],
        ctx,
      );
    },
    async send(values: readonly EmbedInput[]) {
      for (let i = 0; i < values.length; i += 100) {
        const batch: Envelope<EmbedInput>[] = values.slice(i, i + 100).map((value) => {
          const time = Date.parse(value.kind === 'reading' ? value.reading.time : value.alert.time);
          return {
            value,
            eventTime: time,
            raw: {
              topic: value.kind === 'reading' ? 't.readings.scored.v1' : 't.anomalies.v1',
              partition: 0,
              offset: String(offset++),
            } as RawRecord,
          };
        });
        const results = await stage.process(batch, ctx);
        for (const e of batch) max.set(e.raw.partition, Math.max(max.get(e.raw.partition) ?? 0, e.eventTime ?? 0));
        const bad = results.find((r) => r.kind !== 'ok' && r.kind !== 'skip');
        if (bad) throw new Error(`unexpected result ${JSON.stringify(bad)}`);
      }
    },
  };
}

const asInputs = (rs: readonly ScoredReadingInput[]): EmbedInput[] =>
  rs.map((reading) => ({ kind: 'reading', reading }));

async function vectorsOf(collection: string, ids: readonly string[]) {
  const res = await milvus.query({
    collection_name: collection,
    filter: `id in ${JSON.stringify(ids)}`,
    output_fields: ['id', 'embedding', 'hours', 'confidence', 'day'],
  });
  return new Map(
    res.data.map((r) => [
      String(r.id),
      {
        embedding: r.embedding as number[],
        hours: Number(r.hours),
        confidence: Number(r.confidence),
        day: String(r.day),
      },
    ]),
  );
}

async function storeReadings(rs: readonly ScoredReadingInput[]) {
  await db.sql`INSERT INTO meter_readings ${db.sql(
    rs.map((r) => ({
      time: new Date(r.time),
      meter_id: r.meter_id,
      building_id: r.building_id,
      site_id: r.site_id,
      meter_type: r.meter_type,
      value: r.value,
      unit: 'kWh',
      air_temperature: r.air_temperature ?? null,
      dew_temperature: r.dew_temperature ?? null,
    })),
  )} ON CONFLICT (meter_id, time) DO UPDATE SET value = EXCLUDED.value`;
}

describe('embed_profiles on Kafka, PostgreSQL and Milvus', () => {
  it('through the runner: closes local days on event time (the 23-hour DST day too), and a replay upserts the same vectors', async () => {
    const names = uniqueCollections();
    const prefix = `t${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const stage = makeStage(names);
    const runner = new StageRunner(
      stage,
      { broker: kafka, log, registry: new Registry() },
      { naming: { prefix }, topicPartitions: 2, commitIntervalMs: 0 },
    );
    const producer = kafka.producer();
    await producer.connect();
    const karla = readings('Panther_office_Karla', 'Panther', office, '2017-03-11', 4);
    const ids = ['2017-03-11', '2017-03-12', '2017-03-13'].map((d) => patternId('Panther_office_Karla:electricity', d));
    const send = (rs: readonly ScoredReadingInput[]) =>
      producer.send(
        rs.map((r) => ({ topic: `${prefix}.readings.scored.v1`, key: r.meter_id, value: JSON.stringify(r) })),
      );
    try {
      await runner.start();
      await send(karla);
      const deadline = Date.now() + 60_000;
      while ((await vectorsOf(names.patterns, ids)).size < 3) {
        if (Date.now() > deadline) throw new Error('timed out waiting for 3 day vectors');
        await new Promise((r) => setTimeout(r, 200));
      }
      const first = await vectorsOf(names.patterns, ids);
      expect(first.get(ids[1] as string)).toMatchObject({ hours: 23, day: '2017-03-12' });
      expect(first.get(ids[1] as string)?.confidence).toBeCloseTo(1, 6);
      // The fourth day is not closed: its end + grace is beyond the watermark.
      expect((await milvus.count({ collection_name: names.patterns })).data).toBe(3);

      const written = stage.counts.daysWritten;
      await send(karla);
      // The replay writes nothing new (every reading is unchanged): wait until the group has consumed it.
      const admin = kafka.admin();
      await admin.connect();
      const consumed = async () =>
        (await admin.groupOffsets(`${prefix}.stage.embed_profiles`, `${prefix}.readings.scored.v1`)).reduce(
          (n, p) => n + Math.max(0, Number(p.offset)),
          0,
        );
      const replayDeadline = Date.now() + 60_000;
      while ((await consumed()) < 2 * karla.length) {
        if (Date.now() > replayDeadline) throw new Error('timed out waiting for the replay to be consumed');
        await new Promise((r) => setTimeout(r, 200));
      }
      await admin.disconnect();
      expect((await milvus.count({ collection_name: names.patterns })).data).toBe(3);
      expect(stage.counts.daysWritten).toBe(written);
      const again = await vectorsOf(names.patterns, ids);
      for (const id of ids) expect(again.get(id)?.embedding).toEqual(first.get(id)?.embedding);
    } finally {
      await producer.disconnect();
      await runner.stop();
    }
  });

  it('idempotent: replaying the same readings leaves the same number of vectors with the same values; a late reading updates its day', async () => {
    const names = uniqueCollections();
    const stage = makeStage(names);
    const run = directRunner(stage);
    await run.start();
    const karla = readings('Panther_office_Karla', 'Panther', office, '2017-02-01', 6);
    await run.send(asInputs(karla));
    const ids = ['2017-02-01', '2017-02-02', '2017-02-03', '2017-02-04', '2017-02-05'].map((d) =>
      patternId('Panther_office_Karla:electricity', d),
    );
    const first = await vectorsOf(names.patterns, ids);
    expect(first.size).toBe(5);
    await run.send(asInputs(karla));
    expect((await milvus.count({ collection_name: names.patterns })).data).toBe(5);
    const again = await vectorsOf(names.patterns, ids);
    for (const id of ids) expect(again.get(id)?.embedding).toEqual(first.get(id)?.embedding);

    // 2017-02-05 ended within grace + retention of the watermark: updated; 2017-02-02 did not: final.
    const late = { ...(karla[4 * 24 + 10] as ScoredReadingInput), value: 500 };
    const tooLate = { ...(karla[24 + 10] as ScoredReadingInput), value: 500 };
    await run.send(asInputs([late, tooLate]));
    expect((await milvus.count({ collection_name: names.patterns })).data).toBe(5);
    const updated = await vectorsOf(names.patterns, ids);
    expect(updated.get(ids[4] as string)?.embedding).not.toEqual(first.get(ids[4] as string)?.embedding);
    expect(updated.get(ids[1] as string)?.embedding).toEqual(first.get(ids[1] as string)?.embedding);
    await stage.close?.();
  });

  it('skips and counts a day with too many missing hours', async () => {
    const names = uniqueCollections();
    const stage = makeStage(names);
    const run = directRunner(stage);
    await run.start();
    const rs = readings('Rat_public_Ulysses', 'Rat', flat, '2017-04-01', 3).filter(
      (r) => !(r.time >= '2017-04-02T10:00' && r.time < '2017-04-02T16:00'),
    );
    await run.send(asInputs(rs));
    expect(stage.counts.daysSkipped).toBe(1);
    const found = await vectorsOf(names.patterns, [patternId('Rat_public_Ulysses:electricity', '2017-04-02')]);
    expect(found.size).toBe(0);
    expect((await milvus.count({ collection_name: names.patterns })).data).toBe(1);
    await stage.close?.();
  });

  it('a day Milvus refuses stays without a vector; the other days of the batch are written and nothing is dead-lettered', async () => {
    const names = uniqueCollections();
    const stage = makeStage(names);
    const run = directRunner(stage);
    await run.start();
    // A building the catalog lacks, with a site id longer than the collection's field (100):
    // Milvus refuses that meter's day rows.
    const refused = readings('Nowhere_public_Long', 'R'.repeat(150), flat, '2017-07-03', 3);
    const fine = readings('Panther_office_Karla', 'Panther', office, '2017-07-03', 3);
    const interleaved = refused.flatMap((r, i) => [r, fine[i] as ScoredReadingInput]);
    await run.send(asInputs(interleaved));
    const ids = (meter: string) => ['2017-07-03', '2017-07-04'].map((d) => patternId(meter, d));
    expect((await vectorsOf(names.patterns, ids('Panther_office_Karla:electricity'))).size).toBe(2);
    const count = await milvus.query({
      collection_name: names.patterns,
      filter: 'meter_id == "Nowhere_public_Long:electricity"',
      output_fields: ['id'],
    });
    expect(count.data).toEqual([]);
    expect(stage.counts.daysWritten).toBe(2);
    await stage.close?.();
  });

  it('a restart mid-day loses no partial day: the new owner rebuilds it from meter_readings', async () => {
    const karla = readings('Panther_office_Karla', 'Panther', office, '2017-05-01', 3);
    const split = 24 + 12; // noon of the second day
    const alone = uniqueCollections();
    const one = makeStage(alone);
    const r1 = directRunner(one);
    await r1.start();
    await r1.send(asInputs(karla));
    await one.close?.();

    const restarted = uniqueCollections();
    const a = makeStage(restarted);
    const ra = directRunner(a);
    await ra.start();
    await ra.send(asInputs(karla.slice(0, split)));
    await storeReadings(karla.slice(0, split)); // what the writer (another group) stored meanwhile
    await a.close?.();
    const b = makeStage(restarted);
    const rb = directRunner(b);
    await rb.start();
    await rb.send(asInputs(karla.slice(split)));
    expect(b.counts.rebuiltReadings).toBeGreaterThan(0);
    const ids = ['2017-05-01', '2017-05-02'].map((d) => patternId('Panther_office_Karla:electricity', d));
    const expected = await vectorsOf(alone.patterns, ids);
    const got = await vectorsOf(restarted.patterns, ids);
    expect(got.get(ids[1] as string)?.hours).toBe(24);
    for (const id of ids) expect(got.get(id)?.embedding).toEqual(expected.get(id)?.embedding);
    await b.close?.();
  });

  it('a rebalance mid-day loses no partial day: the partition moves to a member that rebuilds it, the first one keeps running', async () => {
    const twin = readings('Panther_office_Twin', 'Panther', office, '2017-06-05', 3);
    const split = 24 + 9; // 09:00 of the second day
    const alone = uniqueCollections();
    const uninterrupted = makeStage(alone);
    const r0 = directRunner(uninterrupted);
    await r0.start();
    await r0.send(asInputs(twin));
    await uninterrupted.close?.();

    const moved = uniqueCollections();
    const first = makeStage(moved);
    const r1 = directRunner(first);
    await r1.start();
    await r1.send(asInputs(twin.slice(0, split)));
    await storeReadings(twin.slice(0, split)); // what the writer (another group) stored meanwhile
    const partitions = [
      { topic: 't.readings.scored.v1', partition: 0 },
      { topic: 't.anomalies.v1', partition: 0 },
    ];
    // The rebalance: the first member loses the partition but lives on; a second one takes it.
    await first.onPartitionsRevoked?.(partitions, r1.ctx);
    const second = makeStage(moved);
    const r2 = directRunner(second);
    await r2.start();
    await r2.send(asInputs(twin.slice(split)));
    expect(second.counts.rebuiltReadings).toBeGreaterThan(0);
    const ids = ['2017-06-05', '2017-06-06'].map((d) => patternId('Panther_office_Twin:electricity', d));
    const expected = await vectorsOf(alone.patterns, ids);
    const got = await vectorsOf(moved.patterns, ids);
    expect(got.get(ids[1] as string)?.hours).toBe(24);
    for (const id of ids) expect(got.get(id)?.embedding).toEqual(expected.get(id)?.embedding);
    await first.close?.();
    // Closing the first member wrote nothing over the day it no longer owns.
    expect((await vectorsOf(moved.patterns, ids)).get(ids[1] as string)?.embedding).toEqual(
      expected.get(ids[1] as string)?.embedding,
    );
    await second.close?.();
  });

  it('search returns a building’s constructed near-duplicate first, and anomaly signatures find their like', async () => {
    const names = uniqueCollections();
    const stage = makeStage(names);
    const run = directRunner(stage);
    await run.start();
    const all = [
      ...readings('Panther_office_Karla', 'Panther', office, '2017-06-01', 8),
      ...readings(
        'Panther_office_Twin',
        'Panther',
        (h, d) => office(h, d) * (1 + 0.02 * Math.sin(h + d)),
        '2017-06-01',
        8,
        1.05,
      ),
      ...readings('Panther_lodging_Flat', 'Panther', flat, '2017-06-01', 8),
      ...readings('Rat_parking_Night', 'Rat', night, '2017-06-01', 8),
    ].sort((x, y) => x.time.localeCompare(y.time));
    await run.send(asInputs(all));
    await storeReadings(all);
    const result = await findSimilarBuildings(milvus, 'Panther_office_Karla', { limit: 3, collections: names });
    expect(result.similar[0]).toMatchObject({ buildingId: 'Panther_office_Twin', primaryUse: 'office' });
    expect(result.similar.map((s) => s.buildingId)).not.toContain('Panther_office_Karla');

    const alert = (building: string, time: string, value: number): EmbedInput => ({
      kind: 'anomaly',
      alert: {
        meter_id: `${building}:electricity`,
        building_id: building,
        time,
        value,
        expected: 20,
        anomaly_score: 0.9,
        model_version: 'anomaly.onnx@test',
      },
    });
    await run.send([
      alert('Panther_office_Karla', '2017-06-05T16:00:00.000Z', 90),
      alert('Panther_office_Twin', '2017-06-05T16:00:00.000Z', 95),
      alert('Rat_parking_Night', '2017-06-05T08:00:00.000Z', 60),
    ]);
    expect(stage.counts.signaturesWritten).toBe(3);
    const id = signatureId('Panther_office_Karla:electricity', Date.parse('2017-06-05T16:00:00Z'));
    const like = await findSimilarAnomalies(milvus, { id }, { limit: 2, collections: names });
    expect(like[0]?.meterId).toBe('Panther_office_Twin:electricity');
    expect(like.map((a) => a.id)).not.toContain(id);
    await stage.close?.();
  });
});
