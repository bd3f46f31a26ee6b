/**
 * A small stateful stage for the tests of partition-owned state: per meter, the mean of its
 * readings in the last `windowMs` of event time up to each reading. Its state (each meter's recent
 * readings) is kept per partition, rebuilt on assignment from a history store the stage writes in
 * `process` (so the store is never behind the group's committed position), dropped on revocation.
 *
 * Why the outputs do not depend on who processed what: a reading's output is a function of its
 * meter's readings with event time in (time - window, time], each meter's readings arrive in time
 * order, and the store holds every reading processed before the resume position (it may hold more:
 * readings of the replayed gap, which only add entries later than the readings being replayed, or
 * the same ones). A record older than its partition's watermark is late and skipped, unless the
 * state already holds it unchanged (a replay of a reading accepted before).
 */
import {
  EventClock,
  jsonCodec,
  ok,
  PartitionStateStore,
  type Stage,
  type StageResult,
  skip,
  type TopicPartition,
} from '../../pipeline/index.js';

export interface MeterReading {
  readonly meter: string;
  /** Event time, ms since epoch. */
  readonly time: number;
  readonly value: number;
}

export interface RollingMean {
  readonly meter: string;
  readonly time: number;
  readonly mean: number;
  readonly count: number;
}

export interface StoredReading extends MeterReading {
  readonly partition: number;
}

/** Where the stage keeps its history (PostgreSQL in the integration test, memory in unit tests). */
export interface HistoryStore {
  /** Idempotent on (meter, time). */
  write(readings: readonly StoredReading[]): Promise<void>;
  /** Readings of these partitions newer than each partition's latest reading minus `retentionMs`. */
  load(partitions: readonly number[], retentionMs: number): Promise<readonly StoredReading[]>;
}

/** Per meter: its readings by event time, in time order. */
type PartitionHistory = Map<string, { time: number; value: number }[]>;

const readingCodec = jsonCodec<MeterReading>(
  (value) => {
    const v = value as MeterReading;
    if (typeof v?.meter !== 'string' || !Number.isFinite(v.time) || !Number.isFinite(v.value))
      throw new Error('not a meter reading');
    return v;
  },
  (v) => v.time,
);

const meanCodec = jsonCodec<RollingMean>((value) => value as RollingMean);

export interface RollingMeanOptions {
  readonly store: HistoryStore;
  readonly windowMs: number;
  readonly allowedLatenessMs: number;
  /** How far behind the watermark the state keeps readings (and the rebuild loads them). */
  readonly retentionMs: number;
  readonly maxRecords?: number;
}

export type RollingMeanStage = Stage<MeterReading, RollingMean> & {
  readonly state: PartitionStateStore<PartitionHistory>;
  /** One entry per rebuild: partitions and readings loaded. */
  readonly builds: { partitions: number; items: number }[];
};

export function rollingMeanStage(options: RollingMeanOptions): RollingMeanStage {
  const { store, windowMs, allowedLatenessMs, retentionMs } = options;
  const builds: { partitions: number; items: number }[] = [];
  const state = new PartitionStateStore<PartitionHistory>({
    async load(partitions: readonly TopicPartition[]) {
      const rows = await store.load(
        partitions.map((p) => p.partition),
        retentionMs,
      );
      const byPartition = new Map<number, { history: PartitionHistory; max: number }>();
      for (const row of rows) {
        let entry = byPartition.get(row.partition);
        if (!entry) {
          entry = { history: new Map(), max: Number.NEGATIVE_INFINITY };
          byPartition.set(row.partition, entry);
        }
        const series = entry.history.get(row.meter) ?? [];
        insert(series, row.time, row.value);
        entry.history.set(row.meter, series);
        entry.max = Math.max(entry.max, row.time);
      }
      return partitions.flatMap((tp) => {
        const entry = byPartition.get(tp.partition);
        return entry ? [{ ...tp, state: entry.history, maxEventTime: entry.max }] : [];
      });
    },
    empty: () => new Map(),
    size: (history) => [...history.values()].reduce((n, series) => n + series.length, 0),
  });

  return {
    name: 'rolling_mean',
    inputs: ['meter.readings.v1'],
    input: readingCodec,
    output: { topic: 'meter.means.v1', codec: meanCodec, key: (m) => m.meter },
    batch: { maxRecords: options.maxRecords ?? 50 },
    state,
    builds,
    async onPartitionsAssigned(partitions, ctx) {
      await state.assign(partitions, ctx);
      if (state.lastBuild) builds.push({ partitions: state.lastBuild.partitions, items: state.lastBuild.items });
    },
    async onPartitionsRevoked(partitions) {
      state.revoke(partitions);
    },
    async process(batch, ctx) {
      const clock = new EventClock(ctx, allowedLatenessMs);
      const results: StageResult<RollingMean>[] = [];
      const written: StoredReading[] = [];
      for (const envelope of batch) {
        const { meter, time, value } = envelope.value;
        const history = state.get(envelope.raw);
        const series = history.get(meter) ?? [];
        const known = series.find((r) => r.time === time)?.value === value;
        const late = clock.isLate(envelope) && !known;
        const watermark = clock.advance(envelope);
        if (late) {
          results.push(skip('late'));
          continue;
        }
        insert(series, time, value);
        history.set(meter, series);
        written.push({ meter, time, value, partition: envelope.raw.partition });
        let sum = 0;
        let count = 0;
        for (const r of series) {
          if (r.time > time - windowMs && r.time <= time) {
            sum += r.value;
            count += 1;
          }
        }
        results.push(ok({ value: { meter, time, mean: sum / count, count } }));
        // Kept well behind the watermark, so a replayed reading still finds its window.
        while (series.length > 0 && (series[0] as { time: number }).time < watermark - retentionMs) series.shift();
      }
      // Before the outputs are produced and the offsets committed: the store is never behind.
      if (written.length > 0) await store.write(written);
      return results;
    },
  };
}

/** Inserts (or replaces) a reading, keeping the series in time order. */
function insert(series: { time: number; value: number }[], time: number, value: number): void {
  let i = series.length;
  while (i > 0 && (series[i - 1] as { time: number }).time > time) i--;
  if (i > 0 && (series[i - 1] as { time: number }).time === time) (series[i - 1] as { value: number }).value = value;
  else series.splice(i, 0, { time, value });
}

/** The history in memory: what the PostgreSQL table is in the integration test. */
export class MemoryHistoryStore implements HistoryStore {
  readonly rows = new Map<string, StoredReading>();
  writes = 0;

  async write(readings: readonly StoredReading[]): Promise<void> {
    this.writes += 1;
    for (const r of readings) this.rows.set(`${r.meter}\u0000${r.time}`, r);
  }

  async load(partitions: readonly number[], retentionMs: number): Promise<readonly StoredReading[]> {
    const wanted = new Set(partitions);
    const rows = [...this.rows.values()].filter((r) => wanted.has(r.partition));
    const latest = new Map<number, number>();
    for (const r of rows) latest.set(r.partition, Math.max(latest.get(r.partition) ?? r.time, r.time));
    return rows.filter((r) => r.time > (latest.get(r.partition) as number) - retentionMs);
  }
}

const hour = 3_600_000;
export const rollingMeanTopics = { input: 'meter.readings.v1', output: 'meter.means.v1' } as const;

/**
 * Test input: `meters` meters, hour by hour (each meter in time order, meters interleaved), plus
 * every 7th hour a correction of an old reading far behind the watermark (late: skipped).
 */
export function rollingMeanInput(meters: number, hours: number, start = Date.UTC(2016, 0, 1)): MeterReading[] {
  const out: MeterReading[] = [];
  for (let h = 0; h < hours; h++) {
    for (let m = 0; m < meters; m++) {
      const meter = `meter_${String(m).padStart(3, '0')}`;
      out.push({ meter, time: start + h * hour, value: ((m * 37 + h * 11) % 101) / 7 });
    }
    if (h >= 30 && h % 7 === 0)
      out.push({ meter: `meter_${String(h % meters).padStart(3, '0')}`, time: start + (h - 30) * hour, value: -1 });
  }
  return out;
}

/** Outputs per meter and time; throws if one (meter, time) was emitted twice with different values. */
export function meansByKey(means: readonly RollingMean[]): Map<string, RollingMean> {
  const byKey = new Map<string, RollingMean>();
  for (const m of means) {
    const key = `${m.meter}@${m.time}`;
    const seen = byKey.get(key);
    if (seen && (seen.mean !== m.mean || seen.count !== m.count))
      throw new Error(`${key} emitted twice with different results: ${JSON.stringify(seen)} vs ${JSON.stringify(m)}`);
    byKey.set(key, m);
  }
  return byKey;
}
