/**
 * What a worker did, per stage, read at exit from the very counters `/metrics` serves (the
 * worker's registry), so the summary and a scrape can never disagree.
 */
import type { Registry } from 'prom-client';
import { STAGE_COUNTER_PREFIX, STAGE_COUNTER_SUFFIX } from './metrics.js';

export interface StageSummary {
  readonly stage: string;
  readonly received: number;
  readonly sent: number;
  /** By reason. */
  readonly skipped: Readonly<Record<string, number>>;
  /** By code. */
  readonly deadLettered: Readonly<Record<string, number>>;
  readonly retries: number;
  /** By reason. */
  readonly deferrals: Readonly<Record<string, number>>;
  /**
   * The stage's own counters (StageContext.metrics) by short name: a number, or per value of
   * their labels (`a=x,b=y`) when they have labels besides `stage`.
   */
  readonly counters: Readonly<Record<string, number | Readonly<Record<string, number>>>>;
}

export type StopReason = 'idle' | 'signal' | 'fatal' | 'abort';

export interface RunSummary {
  /** The topic prefix, the `pipeline` label of the worker's series. */
  readonly pipeline: string;
  readonly reason: StopReason;
  readonly exitCode: number;
  readonly seconds: number;
  readonly stages: readonly StageSummary[];
}

type Values = { labels: Record<string, string | number>; value: number }[];

const RUNTIME = {
  received: 'pipeline_records_received_total',
  sent: 'pipeline_records_sent_total',
  skipped: 'pipeline_records_skipped_total',
  deadLettered: 'pipeline_records_dead_lettered_total',
  retries: 'pipeline_retries_total',
  deferrals: 'pipeline_deferrals_total',
} as const;

/** Labels that do not break a figure down: the stage it belongs to and the worker's default labels. */
const NOT_A_BREAKDOWN = new Set(['stage', 'pipeline']);

function total(values: Values): number {
  return values.reduce((sum, v) => sum + v.value, 0);
}

function byLabel(values: Values, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    if (v.value === 0) continue;
    const key = String(v.labels[label]);
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

/**
 * Per-stage figures of `stages` (in that order, then any other stage the registry counted), read
 * from the registry's counters.
 */
export async function stageSummaries(registry: Registry, stages: readonly string[]): Promise<StageSummary[]> {
  const metrics = await registry.getMetricsAsJSON();
  const valuesOf = (name: string, stage: string): Values =>
    ((metrics.find((m) => m.name === name)?.values ?? []) as Values).filter((v) => v.labels.stage === stage);
  const own = metrics.filter(
    (m) =>
      String(m.type) === 'counter' && m.name.startsWith(STAGE_COUNTER_PREFIX) && m.name.endsWith(STAGE_COUNTER_SUFFIX),
  );
  const seen = new Set<string>(stages);
  for (const m of metrics)
    for (const v of m.values as Values) if (typeof v.labels.stage === 'string') seen.add(v.labels.stage);

  return [...seen].map((stage) => {
    const counters: Record<string, number | Record<string, number>> = {};
    for (const metric of own) {
      const values = valuesOf(metric.name, stage);
      if (values.length === 0) continue;
      const short = metric.name.slice(STAGE_COUNTER_PREFIX.length, -STAGE_COUNTER_SUFFIX.length);
      const breakdown = Object.keys(values[0]?.labels ?? {}).filter((l) => !NOT_A_BREAKDOWN.has(l));
      if (breakdown.length === 0) {
        counters[short] = total(values);
        continue;
      }
      const split: Record<string, number> = {};
      for (const v of values) {
        const key = breakdown.map((l) => `${l}=${v.labels[l]}`).join(',');
        split[key] = (split[key] ?? 0) + v.value;
      }
      counters[short] = split;
    }
    return {
      stage,
      received: total(valuesOf(RUNTIME.received, stage)),
      sent: total(valuesOf(RUNTIME.sent, stage)),
      skipped: byLabel(valuesOf(RUNTIME.skipped, stage), 'reason'),
      deadLettered: byLabel(valuesOf(RUNTIME.deadLettered, stage), 'code'),
      retries: total(valuesOf(RUNTIME.retries, stage)),
      deferrals: byLabel(valuesOf(RUNTIME.deferrals, stage), 'reason'),
      counters,
    };
  });
}

const sum = (figures: Readonly<Record<string, number>>): number => Object.values(figures).reduce((a, b) => a + b, 0);
const listed = (figures: Readonly<Record<string, number>>): string =>
  Object.entries(figures)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

/** The summary as a small aligned table, then one line per stage for the breakdowns. */
export function formatRunSummary(summary: RunSummary): string {
  const head = ['stage', 'received', 'sent', 'skipped', 'dead-lettered', 'retries', 'deferrals'];
  const rows = summary.stages.map((s) => [
    s.stage,
    String(s.received),
    String(s.sent),
    String(sum(s.skipped)),
    String(sum(s.deadLettered)),
    String(s.retries),
    String(sum(s.deferrals)),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const details = summary.stages.flatMap((s) => {
    const parts = [
      Object.keys(s.skipped).length > 0 ? `skipped: ${listed(s.skipped)}` : '',
      Object.keys(s.deadLettered).length > 0 ? `dead-lettered: ${listed(s.deadLettered)}` : '',
      Object.keys(s.deferrals).length > 0 ? `deferrals: ${listed(s.deferrals)}` : '',
      ...Object.entries(s.counters).map(([name, v]) =>
        typeof v === 'number' ? `${name.replaceAll('_', ' ')} ${v}` : `${name.replaceAll('_', ' ')}: ${listed(v)}`,
      ),
    ].filter(Boolean);
    return parts.length > 0 ? [`  ${s.stage}: ${parts.join('; ')}`] : [];
  });
  return [
    `eaio run stopped (${summary.reason}, exit ${summary.exitCode}) after ${summary.seconds.toFixed(1)} s, pipeline ${summary.pipeline}`,
    line(head),
    ...rows.map(line),
    ...details,
    '',
  ].join('\n');
}
