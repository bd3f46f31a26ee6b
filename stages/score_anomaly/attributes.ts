/**
 * The buildings' static attributes the features read (time zone, primary use, floor area), loaded
 * whole from the catalog (BDG2: 1,636 buildings) and reloaded when stale, like validate's catalog.
 * A failed reload keeps the previous snapshot; with none yet, the error is transient (retried).
 */
import type { Sql } from 'postgres';
import { TransientError } from '../../pipeline/index.js';
import type { StaticAttributes } from './features.js';

export type AttributesByBuilding = ReadonlyMap<string, StaticAttributes>;

export async function loadAttributes(sql: Sql): Promise<AttributesByBuilding> {
  const rows = await sql<
    { building_id: string; timezone: string; use: string | null; area: number | null }[]
  >`SELECT building_id, timezone, building_use_type::text AS use, floor_area_sqm AS area FROM buildings`;
  return new Map(
    rows.map((r) => [r.building_id, { timeZone: r.timezone, primaryUse: r.use, areaSqm: r.area }] as const),
  );
}

export class AttributesCache {
  private snapshot: AttributesByBuilding | undefined;
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<AttributesByBuilding> | undefined;

  constructor(
    private readonly load: () => Promise<AttributesByBuilding>,
    private readonly refreshMs: number,
    private readonly onLoadFailed: (error: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** The attributes, reloaded first when missing or older than the refresh interval. */
  async current(): Promise<AttributesByBuilding> {
    if (this.snapshot && this.now() - this.loadedAt < this.refreshMs) return this.snapshot;
    this.loading ??= this.reload().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async reload(): Promise<AttributesByBuilding> {
    const attempted = this.now();
    try {
      this.snapshot = await this.load();
      this.loadedAt = attempted;
      return this.snapshot;
    } catch (error) {
      this.onLoadFailed(error);
      if (this.snapshot) {
        this.loadedAt = attempted;
        return this.snapshot;
      }
      throw new TransientError("the buildings' attributes could not be loaded", 'catalog_unavailable', {
        cause: error,
      });
    }
  }
}
