/**
 * embed_profiles: closes meters' local days on event time and upserts their vectors into
 * `building_patterns`; embeds each anomaly alert's window into `anomaly_signatures`.
 */
import type { MilvusClient } from '@zilliz/milvus2-sdk-node';
import type { Sql } from 'postgres';
import {
  type Envelope,
  EventClock,
  errorMessage,
  ok,
  PartitionStateStore,
  type Stage,
  type StageContext,
  type StageResult,
  stageResults,
  type TopicPartition,
} from '../../pipeline/index.js';
import type { StageClients } from '../descriptor.js';
import { waitForMilvus } from '../shared/milvus-client.js';
import { classifyPgError } from '../shared/pg-errors.js';
import { embedProfilesCodes } from './codes.js';
import type { EmbedProfilesConfig } from './config.js';
import { HOUR_MS } from './day.js';
import { ALERT_WINDOW_HOURS, type DayToEmbed, embedAlert, embedDays, patternRow } from './embed.js';
import { loadProfileEncoder, type ProfileEncoder } from './encoder.js';
import { describeServer, type FlushPolicy, flushPolicyFor } from './flush.js';
import { type EmbedInput, embedInputCodec } from './input.js';
import { classifyMilvusError, ensureCollections, MilvusCallError, upsertRows } from './milvus-store.js';
import { type MeterInfo, PartitionDays } from './state.js';
import { type BuildingInfo, loadBuildings, loadReadings } from './store.js';

const { skip, defer } = stageResults(embedProfilesCodes);
/** How long an alert waits for its hour to reach meter_readings before it is embedded without it. */
const ALERT_WAIT_MS = 30_000;
const REBUILD_MARGIN_MS = 48 * HOUR_MS;

/** Longest the flush at close may take (the rows are stored already; a flush only speeds up search). */
const CLOSE_FLUSH_TIMEOUT_MS = 5_000;

export interface EmbedProfilesDeps {
  readonly config: EmbedProfilesConfig;
  readonly clients: StageClients;
  readonly milvusAddress: string;
  /** Tests: wall clock for created_at and the alert wait. */
  readonly now?: () => number;
}

export type EmbedProfilesStage = Stage<EmbedInput> & {
  readonly state: PartitionStateStore<PartitionDays>;
  readonly counts: { daysWritten: number; daysSkipped: number; signaturesWritten: number; rebuiltReadings: number };
};

const keyOf = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

export function createEmbedProfilesStage(deps: EmbedProfilesDeps): EmbedProfilesStage {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  let sql: Sql | undefined;
  let milvus: MilvusClient | undefined;
  let encoder: ProfileEncoder | undefined;
  let flushes: FlushPolicy | undefined;
  const buildings = new Map<string, BuildingInfo | null>();
  const alertFirstSeen = new Map<string, number>();
  const counts = { daysWritten: 0, daysSkipped: 0, signaturesWritten: 0, rebuiltReadings: 0 };
  const policy = { graceMs: config.graceMs, retentionMs: config.retentionMs };
  // Open days are rebuilt per meter, on its first record after the assignment (see rebuild).
  const state = new PartitionStateStore<PartitionDays>({
    load: async () => [],
    empty: () => new PartitionDays(policy),
    size: (s) => s.size,
  });

  const need = <T>(x: T | undefined, what: string): T => {
    if (x === undefined) throw new Error(`embed_profiles used before init (${what})`);
    return x;
  };

  async function buildingInfo(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !buildings.has(id));
    if (missing.length === 0) return;
    const found = await loadBuildings(need(sql, 'postgres'), missing);
    for (const id of missing) buildings.set(id, null);
    for (const b of found) buildings.set(b.buildingId, b);
  }

  function meterInfo(r: { meter_id: string; building_id: string; site_id?: string; meter_type?: string }): MeterInfo {
    const b = buildings.get(r.building_id) ?? null;
    return {
      meterId: r.meter_id,
      buildingId: r.building_id,
      siteId: b?.siteId ?? r.site_id ?? '',
      meterType: r.meter_type ?? r.meter_id.slice(r.meter_id.lastIndexOf(':') + 1),
      zone: b?.zone,
      primaryUse: b?.primaryUse ?? null,
      floorAreaSqm: b?.floorAreaSqm ?? null,
    };
  }

  /**
   * A meter's open days from meter_readings, before its first record of this assignment: from a
   * retention (plus margin) before that record. Days the rebuild finds due are written again
   * (the same key: an upsert).
   */
  async function rebuild(batch: readonly Envelope<EmbedInput>[]): Promise<void> {
    const firsts = new Map<string, { partition: TopicPartition; timeMs: number; info: MeterInfo }>();
    for (const e of batch) {
      if (e.value.kind !== 'reading') continue;
      const r = e.value.reading;
      const days = state.get(e.raw);
      if (days.meters.has(r.meter_id) || firsts.has(r.meter_id)) continue;
      firsts.set(r.meter_id, { partition: e.raw, timeMs: e.eventTime ?? Date.parse(r.time), info: meterInfo(r) });
    }
    if (firsts.size === 0) return;
    const from = Math.min(...[...firsts.values()].map((f) => f.timeMs)) - config.retentionMs - REBUILD_MARGIN_MS;
    const to = Math.max(...[...firsts.values()].map((f) => f.timeMs)) + 2 * REBUILD_MARGIN_MS;
    const rows = await loadReadings(need(sql, 'postgres'), [...firsts.keys()], from, to);
    for (const f of firsts.values()) state.get(f.partition).meter(f.info);
    for (const row of rows) {
      const f = firsts.get(row.meterId);
      if (!f || row.timeMs < f.timeMs - config.retentionMs - REBUILD_MARGIN_MS) continue;
      state
        .get(f.partition)
        .add(
          f.info,
          row.timeMs,
          row.value,
          { airTemperature: row.airTemperature, dewTemperature: row.dewTemperature },
          Number.NEGATIVE_INFINITY,
        );
      counts.rebuiltReadings++;
    }
  }

  /**
   * Flushes on the policy's schedule (Milvus Lite only, flush.ts). The rows are already stored: a
   * failed flush is logged and tried again after the next write, it does not fail the batch.
   */
  async function wrote(collection: string, rows: number, ctx: StageContext): Promise<void> {
    try {
      if (await need(flushes, 'flush policy').wrote(collection, rows))
        ctx.metrics?.counter('embed_milvus_flushes', 'Explicit Milvus Lite flushes of a collection').inc();
    } catch (error) {
      ctx.log.warn(
        { collection, unflushed: flushes?.unflushed(collection), err: errorMessage(error) },
        'Milvus flush failed; searches stay slower until the next flush',
      );
    }
  }

  async function writeDays(due: DayToEmbed[], ctx: StageContext): Promise<void> {
    const complete = due.filter((d) => d.acc.missingHours <= config.maxMissingHours);
    for (const d of due)
      if (d.acc.missingHours > config.maxMissingHours) {
        d.acc.closed = true;
        d.acc.skipped = true;
        counts.daysSkipped++;
        ctx.metrics?.counter('embed_days_skipped', 'Local days without a vector for too many missing hours').inc();
      }
    if (complete.length === 0) return;
    const enc = need(encoder, 'encoder');
    const vectors = await embedDays(enc, complete);
    const created = now();
    const rows = complete.map((d, i) => patternRow(d, vectors[i] as number[], enc.version, created));
    const client = need(milvus, 'milvus');
    let refused = new Set<number>();
    try {
      await upsertRows(client, config.collections.patterns, rows);
    } catch (error) {
      if (classifyMilvusError(error) !== 'bad_record') throw error;
      refused = await upsertOneByOne(client, rows, complete, ctx);
    }
    await wrote(config.collections.patterns, rows.length - refused.size, ctx);
    complete.forEach((d, i) => {
      d.acc.closed = true;
      d.acc.skipped = refused.has(i);
    });
    const written = complete.length - refused.size;
    counts.daysWritten += written;
    ctx.metrics?.counter('embed_days_written', 'Local-day vectors upserted into Milvus').inc(written);
  }

  /**
   * After Milvus refused a batch of day rows as bad: each row alone, so one bad day does not hold
   * back the others. A refused day is closed without a vector (counted and logged), never sent
   * again with every later batch of its partition.
   */
  async function upsertOneByOne(
    client: MilvusClient,
    rows: ReturnType<typeof patternRow>[],
    days: DayToEmbed[],
    ctx: StageContext,
  ): Promise<Set<number>> {
    const refused = new Set<number>();
    for (let i = 0; i < rows.length; i++) {
      try {
        await upsertRows(client, config.collections.patterns, [rows[i] as ReturnType<typeof patternRow>]);
      } catch (error) {
        if (classifyMilvusError(error) !== 'bad_record') throw error;
        refused.add(i);
        const day = days[i] as DayToEmbed;
        ctx.log.warn(
          { meter: day.info.meterId, day: day.acc.day.date, err: errorMessage(error) },
          'Milvus refused a day vector; the day stays without one',
        );
        ctx.metrics?.counter('embed_days_refused', 'Local days whose vector Milvus refused').inc();
      }
    }
    return refused;
  }

  async function writeAlert(e: Envelope<EmbedInput>, ctx: StageContext): Promise<StageResult<never>> {
    if (e.value.kind !== 'anomaly') return ok();
    const a = e.value.alert;
    const info = meterInfo(a);
    const timeMs = Math.floor(Date.parse(a.time) / HOUR_MS) * HOUR_MS;
    const window = await loadReadings(
      need(sql, 'postgres'),
      [a.meter_id],
      timeMs - (ALERT_WINDOW_HOURS - 1) * HOUR_MS,
      timeMs + HOUR_MS,
    );
    const key = `${a.meter_id}@${timeMs}`;
    if (!window.some((r) => r.timeMs === timeMs)) {
      const first = alertFirstSeen.get(key) ?? now();
      alertFirstSeen.set(key, first);
      if (now() - first < ALERT_WAIT_MS) return defer('anomaly_window_not_stored', 2_000);
    }
    alertFirstSeen.delete(key);
    const enc = need(encoder, 'encoder');
    const row = await embedAlert(
      enc,
      {
        info,
        timeMs,
        value: a.value,
        expected: a.expected ?? null,
        score: a.anomaly_score ?? a.score ?? 1,
        anomalyModel: a.model_version ?? '',
      },
      window,
      enc.version,
      now(),
    );
    await upsertRows(need(milvus, 'milvus'), config.collections.signatures, [row]);
    await wrote(config.collections.signatures, 1, ctx);
    counts.signaturesWritten++;
    ctx.metrics?.counter('embed_signatures_written', 'Anomaly signatures upserted into Milvus').inc();
    return ok();
  }

  return {
    name: 'embed_profiles',
    inputs: [config.inputTopic, config.alertsTopic],
    input: embedInputCodec(config.inputTopic, config.alertsTopic),
    batch: { maxRecords: config.maxRecords },
    state,
    counts,

    classifyError(error) {
      if (error instanceof MilvusCallError || (error as { code?: unknown })?.code !== undefined) {
        const pg = classifyPgError(error);
        if (!(error instanceof MilvusCallError) && pg === 'retry') return 'retry';
        const c = classifyMilvusError(error);
        return c === 'retry' ? 'retry' : c === 'bad_record' ? 'unknown' : 'fatal';
      }
      return classifyMilvusError(error) === 'retry' ? 'retry' : 'unknown';
    },

    async init(ctx) {
      encoder = await loadProfileEncoder(config.modelPath);
      sql = deps.clients.postgres({ max: 2, applicationName: 'eaio-embed-profiles' });
      milvus = await waitForMilvus(deps.milvusAddress, ctx, { waitMs: deps.clients.startupWaitMs });
      const created = await ensureCollections(milvus, config.collections);
      if (created.length > 0) ctx.log.info({ created }, 'Milvus collections created');
      const server = await describeServer(milvus);
      flushes = flushPolicyFor(milvus, server);
      ctx.log.info({ server: server.version, flushEveryRows: flushes.everyRows }, 'Milvus server');
    },

    async onPartitionsAssigned(partitions, ctx) {
      await state.assign(partitions, ctx);
    },

    async onPartitionsRevoked(partitions) {
      state.revoke(partitions);
    },

    async process(batch, ctx) {
      // The runner assigns before it delivers; a direct caller (tests, tools) gets empty state too.
      const unassigned = new Map<string, TopicPartition>();
      for (const e of batch)
        if (!state.has(e.raw)) unassigned.set(keyOf(e.raw), { topic: e.raw.topic, partition: e.raw.partition });
      if (unassigned.size > 0) await state.assign([...unassigned.values()], ctx);
      await buildingInfo(
        batch.map((e) => (e.value.kind === 'reading' ? e.value.reading.building_id : e.value.alert.building_id)),
      );
      await rebuild(batch);
      const clock = new EventClock(ctx, config.allowedLatenessMs);
      const results: StageResult<never>[] = [];
      const touched = new Map<string, TopicPartition>();
      const alerts: number[] = [];
      for (const e of batch) {
        if (e.value.kind === 'anomaly') {
          clock.advance(e);
          alerts.push(results.length);
          results.push(ok());
          continue;
        }
        const r = e.value.reading;
        const watermark = clock.watermark(e.raw);
        const outcome = state
          .get(e.raw)
          .add(
            meterInfo(r),
            e.eventTime ?? Date.parse(r.time),
            r.value,
            { airTemperature: r.air_temperature ?? null, dewTemperature: r.dew_temperature ?? null },
            watermark,
          );
        clock.advance(e);
        touched.set(keyOf(e.raw), e.raw);
        results.push(outcome === 'late' ? skip('late_reading') : ok());
      }
      const due: DayToEmbed[] = [];
      for (const tp of touched.values()) due.push(...state.get(tp).due(clock.watermark(tp)));
      await writeDays(due, ctx);
      for (const i of alerts) results[i] = await writeAlert(batch[i] as Envelope<EmbedInput>, ctx);
      for (const tp of touched.values()) state.get(tp).evict(clock.watermark(tp));
      return results;
    },

    async close() {
      // Only speeds up later searches: never worth holding a stop past the drain (Milvus away).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        flushes?.flushAll().catch(() => undefined),
        new Promise((resolve) => {
          timer = setTimeout(resolve, CLOSE_FLUSH_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      await encoder?.release().catch(() => undefined);
      await milvus?.closeConnection().catch(() => undefined);
      await sql?.end({ timeout: 5 }).catch(() => undefined);
    },
  };
}
