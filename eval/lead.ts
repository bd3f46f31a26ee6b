/**
 * LEAD-format files (`building_id,timestamp,meter_reading,anomaly`, LEAD 1.0's layout): read into
 * per-building series in time order, the timestamps turned into UTC hours. Timestamps are naive
 * local times of the building (BDG2's convention) when its time zone is known, UTC otherwise.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { readCsvRecords } from '../sources/bdg2/csv.js';
import { localToUtc, parseNaiveLocal } from '../sources/bdg2/local-time.js';
import { parseMetadata } from '../sources/bdg2/metadata.js';
import type { StaticAttributes } from '../stages/score_anomaly/features.js';

export interface LabelledReading {
  readonly timeMs: number;
  readonly value: number;
  readonly anomaly: boolean;
}

export interface LeadSeries {
  readonly building: string;
  readonly attributes: StaticAttributes;
  readonly readings: LabelledReading[];
}

/** Rows that could not be scored, by reason. */
export interface LeadSkips {
  /** meter_reading empty or not a number: a gap, as a live pipeline would see it. */
  missingReading: number;
  /** A local time that does not exist (spring forward). */
  nonexistentTime: number;
  /** A second row for the same building and hour (fall back, or a duplicate): the first is kept. */
  duplicateHour: number;
  /** Timestamp, label or building unreadable. */
  badRow: number;
}

export class LeadFileError extends Error {
  override name = 'LeadFileError';
}

const REQUIRED = ['building_id', 'timestamp', 'meter_reading', 'anomaly'] as const;

/**
 * BDG2 metadata keyed by every name a LEAD file may use for a building: the GEPIII/Kaggle number
 * (`118`) and the BDG2 building_id.
 */
export function leadAttributesFromMetadata(csvText: string, source: string): Map<string, StaticAttributes> {
  const { buildings } = parseMetadata(csvText, source);
  const byId = new Map<string, StaticAttributes>();
  for (const b of buildings) {
    const attributes: StaticAttributes = {
      timeZone: b.timezone,
      primaryUse: b.building_use_type,
      areaSqm: b.floor_area_sqm,
    };
    byId.set(b.building_id, attributes);
    if (b.building_id_kaggle !== null) byId.set(String(b.building_id_kaggle), attributes);
  }
  return byId;
}

export function readMetadataFile(path: string): Map<string, StaticAttributes> {
  return leadAttributesFromMetadata(readFileSync(path, 'utf8'), path);
}

/** A building id as written (`118`, `118.0`) → the key used for metadata. */
const normaliseId = (id: string): string => (/^\d+\.0+$/.test(id) ? id.replace(/\.0+$/, '') : id);

export async function readLeadFile(
  path: string,
  attributesById: ReadonlyMap<string, StaticAttributes>,
  onProgress?: (rows: number) => void,
): Promise<{ series: LeadSeries[]; skips: LeadSkips }> {
  const skips: LeadSkips = { missingReading: 0, nonexistentTime: 0, duplicateHour: 0, badRow: 0 };
  const byBuilding = new Map<string, { attributes: StaticAttributes; readings: LabelledReading[] }>();
  let columns: number[] | undefined;
  let rows = 0;
  for await (const record of readCsvRecords(createReadStream(path))) {
    if (!columns) {
      const header = record.map((c) => c.trim());
      const missing = REQUIRED.filter((c) => !header.includes(c));
      if (missing.length > 0)
        throw new LeadFileError(
          `${path}: missing column(s) ${missing.join(', ')}; a LEAD-format file has building_id,timestamp,meter_reading,anomaly`,
        );
      columns = REQUIRED.map((c) => header.indexOf(c));
      continue;
    }
    rows++;
    if (onProgress && rows % 100_000 === 0) onProgress(rows);
    const [id, stamp, reading, label] = columns.map((i) => (record[i] ?? '').trim());
    const building = normaliseId(id ?? '');
    if (!building || (label !== '0' && label !== '1' && label !== '0.0' && label !== '1.0')) {
      skips.badRow++;
      continue;
    }
    let entry = byBuilding.get(building);
    if (!entry) {
      entry = { attributes: attributesById.get(building) ?? {}, readings: [] };
      byBuilding.set(building, entry);
    }
    const value = reading === '' ? Number.NaN : Number(reading);
    if (!Number.isFinite(value)) {
      skips.missingReading++;
      continue;
    }
    const zone = entry.attributes.timeZone;
    let timeMs: number | undefined;
    if (zone) {
      const utc = localToUtc(stamp ?? '', zone);
      if (utc.kind === 'nonexistent') {
        skips.nonexistentTime++;
        continue;
      }
      timeMs = utc.kind === 'ok' ? utc.utcMs : undefined;
    } else {
      timeMs = parseNaiveLocal(stamp ?? '');
    }
    if (timeMs === undefined) {
      skips.badRow++;
      continue;
    }
    entry.readings.push({ timeMs, value, anomaly: label?.startsWith('1') === true });
  }
  if (!columns) throw new LeadFileError(`${path}: the file is empty`);

  const series: LeadSeries[] = [];
  for (const [building, { attributes, readings }] of byBuilding) {
    readings.sort((a, b) => a.timeMs - b.timeMs);
    const unique: LabelledReading[] = [];
    for (const r of readings) {
      if (unique.length > 0 && unique[unique.length - 1]?.timeMs === r.timeMs) skips.duplicateHour++;
      else unique.push(r);
    }
    series.push({ building, attributes, readings: unique });
  }
  return { series, skips };
}
