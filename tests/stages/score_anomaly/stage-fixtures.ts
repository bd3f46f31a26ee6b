/** Readings and in-memory sources for the score_anomaly stage's tests. */
import type { EnrichedReading } from '../../../domain/messages.js';
import type { Envelope, RawRecord } from '../../../pipeline/index.js';
import { enrichReading } from '../../../stages/enrich_weather/enrich.js';
import type { AttributesByBuilding } from '../../../stages/score_anomaly/attributes.js';
import { type HistoryRow, MeterHistory } from '../../../stages/score_anomaly/history.js';
import type { LoadedHistories } from '../../../stages/score_anomaly/history-store.js';
import type { ScoreSources } from '../../../stages/score_anomaly/stage.js';
import { reading } from '../enrich_weather/test-fixtures.js';

export const HOUR = 3_600_000;
export const METER = reading.meter_id;
export const START = Date.UTC(2017, 0, 2);

/** A daily profile with a little deterministic noise: what an office meter looks like. */
export const normal = (h: number): number => 50 + 20 * Math.sin((2 * Math.PI * (h % 24)) / 24) + ((h * 7919) % 13) / 4;

export function enriched(hour: number, value: number, meter = METER): EnrichedReading {
  const building = meter.split(':')[0] as string;
  return enrichReading(
    { ...reading, meter_id: meter, building_id: building, time: new Date(START + hour * HOUR).toISOString(), value },
    hour % 5 === 0
      ? undefined
      : {
          time: START + hour * HOUR,
          air_temperature: 10,
          cloud_coverage: null,
          dew_temperature: 5,
          precip_depth_1h: 0,
          sea_level_pressure: 1010,
          wind_direction: 0,
          wind_speed: 2,
        },
  );
}

let offset = 0;
export function envelope(
  value: EnrichedReading,
  partition = 0,
  topic = 'test.readings.enriched.v1',
): Envelope<EnrichedReading> {
  const raw: RawRecord = {
    topic,
    partition,
    offset: String(offset++),
    key: Buffer.from(value.meter_id),
    value: Buffer.from(JSON.stringify(value)),
    headers: {},
    timestamp: Date.now(),
  };
  return { value, raw, eventTime: Date.parse(value.time) };
}

/** Stored readings per meter, as meter_readings would hold them; counts what was asked. */
export class MemorySources implements ScoreSources {
  readonly asked: string[][] = [];
  constructor(
    readonly stored: ReadonlyMap<string, readonly HistoryRow[]> = new Map(),
    readonly known: readonly string[] = [...stored.keys()],
    readonly buildings: AttributesByBuilding = new Map([
      ['Panther_office_Karla', { timeZone: 'US/Eastern', primaryUse: 'office', areaSqm: 1000 }],
    ]),
  ) {}
  async meters(): Promise<readonly string[]> {
    return this.known;
  }
  async histories(meters: readonly string[]): Promise<LoadedHistories> {
    this.asked.push([...meters]);
    const histories = new Map<string, MeterHistory>();
    let rows = 0;
    let newest: number | undefined;
    for (const meter of meters) {
      const series = this.stored.get(meter);
      if (!series) continue;
      histories.set(meter, MeterHistory.fromRows(series));
      rows += series.length;
      for (const r of series) newest = Math.max(newest ?? r.timeMs, r.timeMs);
    }
    return { histories, rows, newest };
  }
  async attributes(): Promise<AttributesByBuilding> {
    return this.buildings;
  }
}
