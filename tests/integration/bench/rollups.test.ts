import { describe, expect, it } from 'vitest';
import { benchRollups, rollupSummaryLine } from '../../../bench/rollups.js';
import { loadEnv } from '../../../config/load.js';

describe('eaio bench rollups (tiny, on the real PostgreSQL)', () => {
  it('measures both writer variants and both refreshes, and ends with one key=value line', async () => {
    const result = await benchRollups({ meters: 20, days: 2, batchHours: 3, rounds: 2 }, loadEnv().DATABASE_URL);
    expect(result.insertMsLog).toHaveLength(2);
    expect(result.insertMsNoLog).toHaveLength(2);
    // One timed batch of 20 meters × 3 hours touched each meter on one or two UTC days.
    expect(result.refreshBatchDays).toBeGreaterThanOrEqual(20);
    expect(result.refreshBatchDays).toBeLessThanOrEqual(40);
    // Seed, the warm-up, 2 rounds of two batches, and the last batch.
    expect(result.rows).toBe(20 * (2 * 24 + 3 * (1 + 2 * 2 + 1)));
    const line = rollupSummaryLine(result);
    expect(line).toMatch(
      /^bench rollups: rows=1320 batch_rows=60 rounds=2 insert_ms_log=[\d.]+ insert_ms_nolog=[\d.]+ log_overhead_pct=-?[\d.]+ refresh_batch_days=\d+ refresh_batch_ms=\d+ refresh_full_ms=\d+ full_to_batch=[\d.]+$/,
    );
  }, 60_000);
});
