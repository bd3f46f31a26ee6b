import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { skipCounts } from '../../cli/skip-counts.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A stand-in for Prometheus's query API that answers one canned body and records the query. */
async function prometheus(body: unknown): Promise<{ url: string; queries: string[] }> {
  const queries: string[] = [];
  const listening = createServer((req, res) => {
    queries.push(new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}`, queries };
}

describe('skipCounts (eaio status)', () => {
  it('sums skips per stage and reason over the window, leaving out zeros', async () => {
    const p = await prometheus({
      status: 'success',
      data: {
        result: [
          { metric: { stage: 'validate', reason: 'duplicate_in_batch' }, value: [0, '41.999'] },
          {
            metric: { stage: 'validate+enrich_weather+write_hypertable', reason: 'duplicate_in_batch' },
            value: [0, '3'],
          },
          { metric: { stage: 'enrich_weather', reason: 'other' }, value: [0, '0'] },
        ],
      },
    });
    const counts = await skipCounts({ prometheusUrl: p.url, window: '6h' });
    expect(Object.fromEntries([...counts].map(([s, r]) => [s, Object.fromEntries(r)]))).toEqual({
      validate: { duplicate_in_batch: 42 },
      'validate+enrich_weather+write_hypertable': { duplicate_in_batch: 3 },
    });
    expect(p.queries).toEqual(['sum by (stage, reason) (increase(pipeline_records_skipped_total[6h]))']);
  });

  it('says in one line, naming the fix, when Prometheus does not answer', async () => {
    await expect(skipCounts({ prometheusUrl: 'http://127.0.0.1:1', window: '24h' })).rejects.toThrow(
      /^Prometheus at http:\/\/127\.0\.0\.1:1 did not answer .*npx eaio services up prometheus.* PROMETHEUS_URL$/,
    );
  });

  it('passes on what Prometheus rejected', async () => {
    const p = await prometheus({ status: 'error', error: 'parse error' });
    await expect(skipCounts({ prometheusUrl: p.url, window: '24h' })).rejects.toThrow(
      /rejected the skip query: parse error/,
    );
  });
});
