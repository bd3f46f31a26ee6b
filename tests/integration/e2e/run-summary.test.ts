/**
 * `eaio run --json` on the real stack: the run summary is the one JSON object on stdout (logs on
 * stderr), its figures add up for a known input (received = sent + skipped + dead-lettered per
 * stage; the writer's rows are the table's rows), and they equal what the worker's /metrics
 * served, every series labelled with the pipeline (the topic prefix). A worker that exits when
 * idle after seconds leaves its figures the same way.
 */
import { describe, expect, it } from 'vitest';
import { useE2eWorld } from './e2e-env.js';
import { produceRaw } from './pipeline-processes.js';

const karla = 'Panther_office_Karla';
const base = {
  schema_version: 1,
  meter_id: `${karla}:electricity`,
  building_id: karla,
  site_id: 'Panther',
  meter_type: 'electricity',
  unit: 'kWh',
  source: 'e2e:summary',
};
const GOOD = 12;
const good = Array.from({ length: GOOD }, (_, i) => ({
  ...base,
  time: new Date(Date.parse('2016-06-01T00:00:00Z') + i * 3_600_000).toISOString().replace('.000Z', 'Z'),
  value: 10 + i,
}));
const INPUT = [
  ...good.map((value) => ({ key: base.meter_id, value })),
  { key: base.meter_id, value: good[0] as object }, // the same reading again: a duplicate
  { key: base.meter_id, value: { ...base, time: '2016-06-02T00:00:00Z', value: -3 } },
  { key: base.meter_id, value: '{"schema_version":1,"meter_id":' },
];

interface StageFigures {
  stage: string;
  received: number;
  sent: number;
  skipped: Record<string, number>;
  deadLettered: Record<string, number>;
  retries: number;
  deferrals: Record<string, number>;
  counters: Record<string, number>;
}
interface Summary {
  pipeline: string;
  reason: string;
  exitCode: number;
  stages: StageFigures[];
}

const sum = (figures: Record<string, number>) => Object.values(figures).reduce((a, b) => a + b, 0);
const stageOf = (summary: Summary, stage: string) => {
  const found = summary.stages.find((s) => s.stage === stage);
  if (!found) throw new Error(`no ${stage} in ${JSON.stringify(summary)}`);
  return found;
};

/** `name{labels} value` samples of a /metrics body. */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const at = line.lastIndexOf(' ');
      const [, name = '', labels = ''] = /^([^{]+)(?:\{(.*)\})?$/.exec(line.slice(0, at)) ?? [];
      return {
        name,
        labels: Object.fromEntries([...labels.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]])),
        value: Number(line.slice(at + 1)),
      };
    });
}

const world = useE2eWorld();

describe('eaio run --json: the run summary', () => {
  it('adds up for a known input and equals what /metrics served, labelled with the pipeline', async () => {
    const { eaio, db } = world();
    const noWait = { EAIO_ENRICH_WEATHER_MAX_WAIT_MS: '0' };
    await eaio.runOk(['migrate']);
    await eaio.runOk(['import', '--bdg2', 'data/bdg2-sample']);
    await eaio.runOk(['topics', 'create']);
    await produceRaw(eaio.prefix, INPUT);

    // validate alone, exiting when idle: seconds of life, its figures in the summary.
    const validated = await eaio.runOk(['run', 'validate', '--exit-when-idle', '--json'], 60_000);
    const first = JSON.parse(validated.stdout) as Summary;
    expect(first).toMatchObject({ pipeline: eaio.prefix, reason: 'idle', exitCode: 0 });
    const validate = stageOf(first, 'validate');
    expect(validate.received).toBe(INPUT.length);
    expect(validate.deadLettered).toEqual({ value_negative: 1, invalid_json: 1 });
    expect(validate.received).toBe(validate.sent + sum(validate.skipped) + sum(validate.deadLettered));
    expect(validate.sent).toBeGreaterThanOrEqual(GOOD);

    // The downstream stages until a signal, scraping /metrics just before it. The roll-up job's
    // clock never ticks in this test: only the worker going quiet can refresh the roll-ups.
    const worker = eaio.start(['run', 'enrich_weather', 'score_anomaly', 'write_hypertable', '--json'], {
      ...noWait,
      LOG_LEVEL: 'info',
      EAIO_JOBS_AGGREGATE_REFRESH_CRON: '0 0 1 1 *',
      EAIO_JOBS_QUIET_AFTER_S: '1',
    });
    let stderr = '';
    worker.child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    let scraped: ReturnType<typeof samples> = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const port = /"port":(\d+)[^\n]*metrics server listening/.exec(stderr)?.[1];
      if (port) {
        scraped = samples(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
        const written = scraped.find(
          (s) => s.name === 'pipeline_records_received_total' && s.labels.stage === 'write_hypertable',
        );
        if (written?.value === validate.sent) break;
      }
      if (Date.now() > deadline) throw new Error(`the writer did not receive ${validate.sent} records\n${stderr}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    // Its last batch's rows are committed before its records count as done: let the commit land.
    await new Promise((r) => setTimeout(r, 1_500));
    const port = /"port":(\d+)[^\n]*metrics server listening/.exec(stderr)?.[1];
    // Still running, quiet for a second: the roll-ups hold every stored reading.
    const rolledUp = async () =>
      (
        await db.sql<{ stored: number; hourly: number }[]>`
        SELECT (SELECT count(*)::int FROM meter_readings) AS stored,
               (SELECT coalesce(sum(reading_count), 0)::int FROM meter_readings_hourly) AS hourly`
      )[0];
    for (let i = 0; i < 50; i++) {
      const now = await rolledUp();
      if (now && now.stored > 0 && now.hourly === now.stored) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await rolledUp()).toEqual({ stored: GOOD, hourly: GOOD });
    expect(worker.child.exitCode).toBeNull();
    scraped = samples(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    worker.child.kill('SIGTERM');
    const done = await worker.finished;
    expect(done.code, done.stderr.slice(-2000)).toBe(0);
    const second = JSON.parse(done.stdout) as Summary;
    expect(second).toMatchObject({ pipeline: eaio.prefix, reason: 'signal', exitCode: 0 });

    const enrich = stageOf(second, 'enrich_weather');
    const score = stageOf(second, 'score_anomaly');
    const writer = stageOf(second, 'write_hypertable');
    expect(enrich.received).toBe(validate.sent);
    expect(enrich.received).toBe(enrich.sent + sum(enrich.skipped) + sum(enrich.deadLettered));
    expect(score.received).toBe(enrich.sent);
    // Every reading scored onto readings.scored.v1, plus one alert per flagged reading.
    expect(score.sent).toBe(score.received + (score.counters.readings_flagged ?? 0));
    expect(writer.received).toBe(score.received);
    expect(writer.sent).toBe(0);
    // A fresh table and distinct readings: every record the writer did not reject is a new row.
    expect(writer.counters).toEqual({
      rows_inserted: writer.received - sum(writer.deadLettered),
      rows_updated: 0,
      rows_unchanged: 0,
      readings_corrected: 0,
      readings_superseded_in_batch: 0,
    });
    const [{ n }] = (await db.sql`SELECT count(*)::int AS n FROM meter_readings`) as unknown as [{ n: number }];
    expect(n).toBe(writer.counters.rows_inserted);

    // Every figure is the scraped one; every scraped series carries the pipeline label.
    expect(scraped.filter((s) => s.labels.pipeline !== eaio.prefix)).toEqual([]);
    const scrapedTotal = (name: string, stage: string, label?: [string, string]) =>
      scraped
        .filter((s) => s.name === name && s.labels.stage === stage && (!label || s.labels[label[0]] === label[1]))
        .reduce((a, s) => a + s.value, 0);
    for (const figures of [enrich, score, writer]) {
      const { stage } = figures;
      expect(scrapedTotal('pipeline_records_received_total', stage)).toBe(figures.received);
      expect(scrapedTotal('pipeline_records_sent_total', stage)).toBe(figures.sent);
      expect(scrapedTotal('pipeline_retries_total', stage)).toBe(figures.retries);
      for (const [reason, n] of Object.entries(figures.skipped))
        expect(scrapedTotal('pipeline_records_skipped_total', stage, ['reason', reason])).toBe(n);
      for (const [code, n] of Object.entries(figures.deadLettered))
        expect(scrapedTotal('pipeline_records_dead_lettered_total', stage, ['code', code])).toBe(n);
      for (const [name, n] of Object.entries(figures.counters))
        expect(scrapedTotal(`eaio_${name}_total`, stage)).toBe(n);
    }
  });
});
