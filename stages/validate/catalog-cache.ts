import { TransientError } from '../../pipeline/index.js';
import type { CatalogSnapshot } from './catalog.js';

export interface CatalogCacheOptions {
  /** A snapshot older than this is reloaded before the next batch uses it. */
  readonly refreshMs: number;
  /** After an unknown building or meter, reload at most this often (a stream of bad ids must not hammer the DB). */
  readonly missRefreshMs: number;
  readonly now?: () => number;
  readonly onLoaded?: (snapshot: CatalogSnapshot, reason: LoadReason) => void;
  readonly onLoadFailed?: (error: unknown, reason: LoadReason) => void;
}

export type LoadReason = 'initial' | 'stale' | 'miss';

/**
 * The validate stage's view of the catalog: loaded whole, reloaded when stale and (rate-limited)
 * when a reading names a building or meter it does not know, so a building imported while the
 * pipeline runs is accepted without a restart. Concurrent callers (partitions are processed in
 * parallel) share one load. A failed reload keeps the previous snapshot: a DB hiccup must not
 * dead-letter good readings; only having no catalog at all is an error (transient: retried).
 */
export class CatalogCache {
  private snapshot: CatalogSnapshot | undefined;
  /** When the last load was attempted (successful or not), for both rate limits. */
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<CatalogSnapshot> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly load: () => Promise<CatalogSnapshot>,
    private readonly options: CatalogCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The snapshot to validate against, reloaded first if it is missing or stale. */
  async current(): Promise<CatalogSnapshot> {
    if (!this.snapshot) return this.reload('initial');
    if (this.now() - this.attemptedAt >= this.options.refreshMs) return this.reload('stale');
    return this.snapshot;
  }

  /**
   * A reading named something the snapshot does not know: reload if the last attempt is old
   * enough. Returns the new snapshot, or undefined when rate-limited or unchanged.
   */
  async reloadAfterMiss(): Promise<CatalogSnapshot | undefined> {
    if (this.loading) return this.loading;
    if (this.now() - this.attemptedAt < this.options.missRefreshMs) return undefined;
    const before = this.snapshot;
    const after = await this.reload('miss');
    return after === before ? undefined : after;
  }

  private reload(reason: LoadReason): Promise<CatalogSnapshot> {
    this.loading ??= this.loadOnce(reason).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async loadOnce(reason: LoadReason): Promise<CatalogSnapshot> {
    this.attemptedAt = this.now();
    try {
      const snapshot = await this.load();
      this.snapshot = snapshot;
      this.options.onLoaded?.(snapshot, reason);
      return snapshot;
    } catch (error) {
      this.options.onLoadFailed?.(error, reason);
      if (this.snapshot) return this.snapshot;
      throw new TransientError('the catalog of buildings and meters could not be loaded', 'catalog_unavailable', {
        cause: error,
      });
    }
  }
}
