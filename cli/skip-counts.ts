/**
 * Skipped records per stage and reason. Skips leave no record on any topic (unlike dead letters),
 * so the only account of them is the workers' `pipeline_records_skipped_total`, as Prometheus
 * scraped it: what `eaio status` shows next to the dead letters.
 */
import { errorMessage } from '../pipeline/index.js';

export type SkipCounts = Map<string, Map<string, number>>;

export interface SkipQuery {
  readonly prometheusUrl: string;
  /** PromQL range, e.g. `24h`. */
  readonly window: string;
  readonly timeoutMs?: number;
}

interface VectorResponse {
  status: string;
  data?: { result?: { metric: Record<string, string>; value: [number, string] }[] };
  error?: string;
}

/** Skips per stage and reason over the window; throws one line naming the fix when Prometheus cannot answer. */
export async function skipCounts(query: SkipQuery): Promise<SkipCounts> {
  const promql = `sum by (stage, reason) (increase(pipeline_records_skipped_total[${query.window}]))`;
  const url = new URL('/api/v1/query', query.prometheusUrl);
  url.searchParams.set('query', promql);
  let body: VectorResponse;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(query.timeoutMs ?? 3_000) });
    body = (await res.json()) as VectorResponse;
  } catch (error) {
    throw new Error(
      `Prometheus at ${query.prometheusUrl} did not answer (${errorMessage(error)}): start it with 'npx eaio services up prometheus' or set PROMETHEUS_URL`,
    );
  }
  if (body.status !== 'success') throw new Error(`Prometheus rejected the skip query: ${body.error ?? body.status}`);
  const counts: SkipCounts = new Map();
  for (const { metric, value } of body.data?.result ?? []) {
    const stage = metric.stage ?? '';
    const n = Math.round(Number(value[1]));
    if (n <= 0) continue;
    const perReason = counts.get(stage) ?? new Map<string, number>();
    perReason.set(metric.reason ?? '', n);
    counts.set(stage, perReason);
  }
  return counts;
}
