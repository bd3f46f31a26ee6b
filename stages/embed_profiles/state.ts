/**
 * One partition's open local days, per meter (docs/stage-spec.md §13). Days close on event time:
 * when the partition's watermark passes a day's end plus the grace. A closed day stays for the
 * retention, so a late reading re-opens it and its vector is upserted again; a reading for a day
 * older than that is late.
 */
import { DayAccumulator, HOUR_MS, type HourWeather, localDayOf } from './day.js';

export interface MeterInfo {
  readonly meterId: string;
  readonly buildingId: string;
  readonly siteId: string;
  readonly meterType: string;
  readonly zone: string | undefined;
  readonly primaryUse: string | null;
  readonly floorAreaSqm: number | null;
}

export interface MeterDaysState {
  readonly info: MeterInfo;
  readonly days: Map<string, DayAccumulator>;
}

export interface DueDay {
  readonly info: MeterInfo;
  readonly acc: DayAccumulator;
}

export interface DayPolicy {
  readonly graceMs: number;
  readonly retentionMs: number;
}

export type AddOutcome = 'added' | 'unchanged' | 'late';

export class PartitionDays {
  readonly meters = new Map<string, MeterDaysState>();

  constructor(private readonly policy: DayPolicy) {}

  meter(info: MeterInfo): MeterDaysState {
    let m = this.meters.get(info.meterId);
    if (!m) {
      m = { info, days: new Map() };
      this.meters.set(info.meterId, m);
    }
    return m;
  }

  /**
   * Adds a reading seen at `watermark` (the partition's, before it). A reading the state already
   * holds unchanged is a replay, whatever its lateness.
   */
  add(info: MeterInfo, timeMs: number, value: number, weather: HourWeather | undefined, watermark: number): AddOutcome {
    const hourMs = Math.floor(timeMs / HOUR_MS) * HOUR_MS;
    const day = localDayOf(info.zone, hourMs);
    const m = this.meter(info);
    const known = m.days.get(day.date);
    if (known?.values.get(hourMs) === value) return 'unchanged';
    if (day.endMs + this.policy.graceMs + this.policy.retentionMs < watermark) return 'late';
    let acc = known;
    if (!acc) {
      acc = new DayAccumulator(day);
      m.days.set(day.date, acc);
    }
    acc.add(hourMs, value, weather);
    acc.closed = false;
    return 'added';
  }

  /** Days whose end plus grace the watermark has passed and whose vector is not written yet. */
  due(watermark: number): DueDay[] {
    const out: DueDay[] = [];
    for (const m of this.meters.values())
      for (const acc of m.days.values())
        if (!acc.closed && acc.day.endMs + this.policy.graceMs <= watermark) out.push({ info: m.info, acc });
    return out;
  }

  /** Drops closed days past the retention, and meters left without days. */
  evict(watermark: number): number {
    let dropped = 0;
    for (const [id, m] of this.meters) {
      for (const [date, acc] of m.days)
        if (acc.closed && acc.day.endMs + this.policy.graceMs + this.policy.retentionMs < watermark) {
          m.days.delete(date);
          dropped++;
        }
      if (m.days.size === 0) this.meters.delete(id);
    }
    return dropped;
  }

  get size(): number {
    let n = 0;
    for (const m of this.meters.values()) for (const acc of m.days.values()) n += acc.values.size;
    return n;
  }
}
