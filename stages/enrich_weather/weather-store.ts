/**
 * `weather_observations` as the durable side of the as-of join: observations are upserted as they
 * arrive, the cache is warmed from it on start, and readings the cache cannot answer (observations
 * evicted, or consumed by another member of the group, which owns that weather partition) are
 * joined here with the same as-of rule.
 */
import type { Sql } from 'postgres';
import type { WeatherObservation } from '../../domain/messages.js';
import { pgArrayLiteral } from '../shared/pg-array.js';
import { type CachedWeather, WEATHER_FIELDS } from './enrich.js';

export interface WeatherQuery {
  readonly site: string;
  /** Hour of the reading, ms since epoch. */
  readonly time: number;
}

export interface AsOfAnswer {
  /** Latest observation at or before the hour, within the tolerance. */
  readonly match?: CachedWeather;
  /** An observation at or after the hour exists: waiting cannot bring a better match. */
  readonly hasLater: boolean;
}

/** What the join needs from the store (a fake in unit tests). */
export interface WeatherSource {
  asOf(queries: readonly WeatherQuery[], toleranceMs: number): Promise<readonly AsOfAnswer[]>;
}

type WeatherRow = { site_id: string; time: Date } & { [F in (typeof WEATHER_FIELDS)[number]]: number | null };

const toCached = (row: WeatherRow): CachedWeather => ({
  time: row.time.getTime(),
  air_temperature: row.air_temperature,
  cloud_coverage: row.cloud_coverage,
  dew_temperature: row.dew_temperature,
  precip_depth_1h: row.precip_depth_1h,
  sea_level_pressure: row.sea_level_pressure,
  wind_direction: row.wind_direction,
  wind_speed: row.wind_speed,
});

const weatherColumns = WEATHER_FIELDS.map((f) => `w.${f}`).join(', ');

/** Several observations of one site and hour in a batch: the last one wins (one upsert cannot touch a row twice). */
export function latestObservations(observations: readonly WeatherObservation[]): WeatherObservation[] {
  const byKey = new Map<string, WeatherObservation>();
  for (const o of observations) byKey.set(`${o.site_id}\u0000${Date.parse(o.time)}`, o);
  return [...byKey.values()];
}

export class WeatherStore implements WeatherSource {
  constructor(private readonly sql: Sql) {}

  /** One statement for the whole batch; re-delivered observations overwrite themselves. */
  async upsert(observations: readonly WeatherObservation[]): Promise<void> {
    const rows = latestObservations(observations);
    if (rows.length === 0) return;
    const column = (pick: (o: WeatherObservation) => string | number | null) => pgArrayLiteral(rows.map(pick));
    await this.sql`
      INSERT INTO weather_observations (site_id, time, air_temperature, cloud_coverage, dew_temperature, precip_depth_1h,
        precip_depth_6h, sea_level_pressure, wind_direction, wind_speed, source)
      SELECT * FROM unnest(${column((o) => o.site_id)}::text[], ${column((o) => o.time)}::timestamptz[],
        ${column((o) => o.air_temperature)}::real[], ${column((o) => o.cloud_coverage)}::real[],
        ${column((o) => o.dew_temperature)}::real[], ${column((o) => o.precip_depth_1h)}::real[],
        ${column((o) => o.precip_depth_6h)}::real[], ${column((o) => o.sea_level_pressure)}::real[],
        ${column((o) => o.wind_direction)}::real[], ${column((o) => o.wind_speed)}::real[], ${column((o) => o.source)}::text[])
      ON CONFLICT (site_id, time) DO UPDATE SET
        air_temperature = EXCLUDED.air_temperature, cloud_coverage = EXCLUDED.cloud_coverage,
        dew_temperature = EXCLUDED.dew_temperature, precip_depth_1h = EXCLUDED.precip_depth_1h,
        precip_depth_6h = EXCLUDED.precip_depth_6h, sea_level_pressure = EXCLUDED.sea_level_pressure,
        wind_direction = EXCLUDED.wind_direction, wind_speed = EXCLUDED.wind_speed,
        source = EXCLUDED.source, ingested_at = now()`;
  }

  /**
   * Each site's observations within `windowMs` behind that site's newest one. Relative to the
   * site's newest, not to now(): a replay of 2016 data must warm as well as live data does.
   */
  async loadRecent(windowMs: number): Promise<Map<string, CachedWeather[]>> {
    const rows = await this.sql.unsafe<WeatherRow[]>(
      `SELECT w.site_id, w.time, ${weatherColumns}
         FROM weather_observations w
         JOIN (SELECT site_id, max(time) AS newest FROM weather_observations GROUP BY site_id) n USING (site_id)
        WHERE w.time >= n.newest - make_interval(secs => $1::double precision / 1000)
        ORDER BY w.site_id, w.time`,
      [windowMs],
    );
    const bySite = new Map<string, CachedWeather[]>();
    for (const row of rows) {
      const list = bySite.get(row.site_id) ?? [];
      list.push(toCached(row));
      bySite.set(row.site_id, list);
    }
    return bySite;
  }

  /** The as-of join for many (site, hour) pairs in one round trip, using the (site_id, time) key. */
  async asOf(queries: readonly WeatherQuery[], toleranceMs: number): Promise<readonly AsOfAnswer[]> {
    if (queries.length === 0) return [];
    const sites = pgArrayLiteral(queries.map((q) => q.site));
    const times = pgArrayLiteral(queries.map((q) => new Date(q.time).toISOString()));
    const rows = await this.sql.unsafe<(Partial<WeatherRow> & { i: string; has_later: boolean })[]>(
      // has_later as ORDER BY … LIMIT 1, not EXISTS: the planner ran the EXISTS as a sequential
      // scan of the site's whole history, which at the live edge (no later row) reads every row.
      `SELECT q.i, w.site_id, w.time, ${weatherColumns}, later.time IS NOT NULL AS has_later
         FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS q(site_id, time, i)
         LEFT JOIN LATERAL (
           SELECT * FROM weather_observations o
            WHERE o.site_id = q.site_id AND o.time <= q.time
              AND o.time >= q.time - make_interval(secs => $3::double precision / 1000)
            ORDER BY o.time DESC LIMIT 1) w ON true
         LEFT JOIN LATERAL (
           SELECT l.time FROM weather_observations l
            WHERE l.site_id = q.site_id AND l.time >= q.time
            ORDER BY l.time LIMIT 1) later ON true`,
      [sites, times, toleranceMs],
      // Prepared once per connection (postgres.js `unsafe` defaults to unnamed statements).
      { prepare: true },
    );
    const answers: AsOfAnswer[] = queries.map(() => ({ hasLater: false }));
    for (const row of rows) {
      const match = row.time ? toCached(row as WeatherRow) : undefined;
      answers[Number(row.i) - 1] = match ? { match, hasLater: row.has_later } : { hasLater: row.has_later };
    }
    return answers;
  }
}
