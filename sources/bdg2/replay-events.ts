import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { meterId } from '../../domain/ids.js';
import { type RawReading, SCHEMA_VERSION, type WeatherObservation } from '../../domain/messages.js';
import { METER_TYPE_SPECS, type MeterType } from '../../domain/meter-types.js';
import { remember } from '../../domain/remember.js';
import { isoTime } from '../../domain/time-memo.js';
import { localToUtc, parseNaiveLocal } from './local-time.js';
import { readWeatherFile } from './weather-csv.js';
import { openWideFile, type WideFile, type WideRow } from './wide-csv.js';

/**
 * Turns a BDG2 folder into messages grouped by UTC hour, in time order. Meter files are read as
 * streams and merged by local time; since one file holds buildings of several time zones, readings
 * are held in a small buffer keyed by UTC hour and released once no later row can still fall into
 * that hour (the local-time read position minus the largest possible UTC offset, +14 h).
 */
export type Variant = 'cleaned' | 'raw';

export interface ReplaySelection {
  readonly dir: string;
  readonly variant: Variant;
  readonly meterTypes: readonly MeterType[];
  /** Inclusive lower bound, ms since epoch (UTC). */
  readonly fromMs?: number;
  /** Exclusive upper bound. */
  readonly toMs?: number;
}

export interface BuildingZone {
  readonly siteId: string;
  readonly timezone: string;
}

export interface ReplayHour {
  readonly utcMs: number;
  readonly weather: readonly WeatherObservation[];
  readonly readings: readonly RawReading[];
}

export interface ReplayStats {
  readings: number;
  weather: number;
  /** Non-empty cells / weather rows at a local time that does not exist (spring-forward hour). */
  skippedNonexistentLocalTime: number;
  /** Non-empty cells of buildings missing from metadata.csv. */
  skippedUnknownBuilding: number;
  skippedUnknownSite: number;
  /** Cells that are not a number (BDG2 has none; counted rather than published). */
  skippedMalformedValue: number;
  skippedOutOfRange: number;
  /** Local times that repeat at a fall-back change, mapped to their first occurrence. */
  ambiguousLocalTimes: number;
  /** Selected meter types without a file in this variant. */
  missingFiles: string[];
  files: string[];
}

export const newReplayStats = (): ReplayStats => ({
  readings: 0,
  weather: 0,
  skippedNonexistentLocalTime: 0,
  skippedUnknownBuilding: 0,
  skippedUnknownSite: 0,
  skippedMalformedValue: 0,
  skippedOutOfRange: 0,
  ambiguousLocalTimes: 0,
  missingFiles: [],
  files: [],
});

export function meterFilePath(dir: string, variant: Variant, type: MeterType): string {
  return variant === 'cleaned'
    ? join(dir, 'meters', 'cleaned', `${type}_cleaned.csv`)
    : join(dir, 'meters', 'raw', `${type}.csv`);
}

const HOUR_MS = 3_600_000;
/** Largest UTC offset of any zone (+14 h, Pacific/Kiritimati) plus one hour of margin. */
const MAX_AHEAD_MS = 15 * HOUR_MS;

interface Source {
  readonly type: MeterType;
  readonly file: WideFile;
  readonly rows: AsyncGenerator<WideRow>;
  head: WideRow | undefined;
}

export class ReplayReader {
  readonly stats = newReplayStats();
  private readonly sources: Source[] = [];
  private weatherByHour = new Map<number, WeatherObservation[]>();
  private readonly pending = new Map<number, RawReading[]>();
  private readonly source: string;
  /**
   * Conversions already made, keyed `zone NUL local`: every meter file (and weather) repeats the
   * same local hours per zone. Files are read in time order, so old hours are not asked for again.
   */
  private readonly utcOf = remember((key: string) => {
    const split = key.indexOf('\u0000');
    return localToUtc(key.slice(split + 1), key.slice(0, split));
  }, 100_000);

  constructor(
    private readonly selection: ReplaySelection,
    private readonly buildings: ReadonlyMap<string, BuildingZone>,
    private readonly siteZones: ReadonlyMap<string, string>,
  ) {
    this.source = `bdg2:${selection.variant}`;
  }

  /** Bytes of the meter files, for a progress bar. */
  totalBytes = 0;
  bytesRead(): number {
    return this.sources.reduce((sum, s) => sum + s.file.bytesRead(), 0);
  }

  async *hours(): AsyncGenerator<ReplayHour> {
    await this.open();
    await this.loadWeather();
    const weatherHours = [...this.weatherByHour.keys()].sort((a, b) => a - b);
    let w = 0;
    const release = function* (this: ReplayReader, beforeMs: number): Generator<ReplayHour> {
      const readingHours = [...this.pending.keys()].filter((h) => h < beforeMs).sort((a, b) => a - b);
      let r = 0;
      while (r < readingHours.length || (w < weatherHours.length && (weatherHours[w] ?? Infinity) < beforeMs)) {
        const nextReading = readingHours[r] ?? Infinity;
        const nextWeather =
          w < weatherHours.length && (weatherHours[w] ?? Infinity) < beforeMs
            ? (weatherHours[w] ?? Infinity)
            : Infinity;
        const hour = Math.min(nextReading, nextWeather);
        const weather = hour === nextWeather ? (this.weatherByHour.get(hour) ?? []) : [];
        if (hour === nextWeather) w++;
        const readings = hour === nextReading ? (this.pending.get(hour) ?? []) : [];
        if (hour === nextReading) {
          this.pending.delete(hour);
          r++;
        }
        this.stats.weather += weather.length;
        this.stats.readings += readings.length;
        yield { utcMs: hour, weather, readings };
      }
    }.bind(this);

    for (;;) {
      const next = this.earliestSource();
      if (!next?.head) break;
      this.addRow(next.type, next.head);
      next.head = (await next.rows.next()).value ?? undefined;
      const position = this.earliestSource()?.head?.localTime;
      if (position === undefined) break;
      const wall = parseNaiveLocal(position);
      if (wall !== undefined) yield* release(wall - MAX_AHEAD_MS);
    }
    yield* release(Infinity);
  }

  private async open(): Promise<void> {
    const { dir, variant, meterTypes } = this.selection;
    for (const type of meterTypes) {
      const path = meterFilePath(dir, variant, type);
      if (!existsSync(path)) {
        this.stats.missingFiles.push(path);
        continue;
      }
      const file = openWideFile(path);
      const rows = file.rows();
      const first = await rows.next();
      this.sources.push({ type, file, rows, head: first.done ? undefined : first.value });
      this.stats.files.push(path);
      this.totalBytes += statSync(path).size;
    }
  }

  private earliestSource(): Source | undefined {
    let best: Source | undefined;
    for (const s of this.sources) {
      // Fixed-width `YYYY-MM-DD HH:MM:SS` strings sort like the times they denote.
      if (s.head && (!best?.head || s.head.localTime < best.head.localTime)) best = s;
    }
    return best;
  }

  private inRange(utcMs: number): boolean {
    const { fromMs, toMs } = this.selection;
    return (fromMs === undefined || utcMs >= fromMs) && (toMs === undefined || utcMs < toMs);
  }

  private toUtc(local: string, zone: string): ReturnType<typeof localToUtc> {
    return this.utcOf(`${zone}\u0000${local}`);
  }

  private addRow(type: MeterType, row: WideRow): void {
    const utcByZone = new Map<string, ReturnType<typeof localToUtc>>();
    const unit = METER_TYPE_SPECS[type].unit;
    for (const cell of row.cells) {
      const building = this.buildings.get(cell.column);
      if (!building) {
        this.stats.skippedUnknownBuilding++;
        continue;
      }
      let utc = utcByZone.get(building.timezone);
      if (!utc) {
        utc = this.toUtc(row.localTime, building.timezone);
        utcByZone.set(building.timezone, utc);
        if (utc.kind === 'invalid') throw new Error(`line ${row.line}: ${utc.reason}`);
      }
      if (utc.kind !== 'ok') {
        this.stats.skippedNonexistentLocalTime++;
        continue;
      }
      if (utc.ambiguous) this.stats.ambiguousLocalTimes++;
      if (!this.inRange(utc.utcMs)) {
        this.stats.skippedOutOfRange++;
        continue;
      }
      const value = Number(cell.value);
      if (!Number.isFinite(value)) {
        this.stats.skippedMalformedValue++;
        continue;
      }
      const reading: RawReading = {
        schema_version: SCHEMA_VERSION,
        meter_id: meterId(cell.column, type),
        building_id: cell.column,
        site_id: building.siteId,
        meter_type: type,
        time: isoTime(utc.utcMs),
        value,
        unit,
        source: this.source,
        local_time: row.localTime,
      };
      const hour = Math.floor(utc.utcMs / HOUR_MS) * HOUR_MS;
      const list = this.pending.get(hour);
      if (list) list.push(reading);
      else this.pending.set(hour, [reading]);
    }
  }

  private async loadWeather(): Promise<void> {
    const path = join(this.selection.dir, 'weather.csv');
    if (!existsSync(path)) return;
    this.stats.files.push(path);
    const byHour = new Map<number, WeatherObservation[]>();
    for await (const row of readWeatherFile(path)) {
      const zone = this.siteZones.get(row.siteId);
      if (!zone) {
        this.stats.skippedUnknownSite++;
        continue;
      }
      const utc = this.toUtc(row.localTime, zone);
      if (utc.kind === 'invalid') throw new Error(`${path}: line ${row.line}: ${utc.reason}`);
      if (utc.kind === 'nonexistent') {
        this.stats.skippedNonexistentLocalTime++;
        continue;
      }
      if (utc.ambiguous) this.stats.ambiguousLocalTimes++;
      if (!this.inRange(utc.utcMs)) {
        this.stats.skippedOutOfRange++;
        continue;
      }
      const observation: WeatherObservation = {
        schema_version: SCHEMA_VERSION,
        site_id: row.siteId,
        time: new Date(utc.utcMs).toISOString(),
        ...row.values,
        source: 'bdg2',
        local_time: row.localTime,
      };
      const hour = Math.floor(utc.utcMs / HOUR_MS) * HOUR_MS;
      const list = byHour.get(hour);
      if (list) list.push(observation);
      else byHour.set(hour, [observation]);
    }
    this.weatherByHour = byHour;
  }
}
