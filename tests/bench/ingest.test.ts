import { describe, expect, it } from 'vitest';
import { modeProcesses, type PipelineFigure, renderIngest, stagesFor, summarise } from '../../bench/ingest.js';
import type { CopyFigure } from '../../bench/ingest-copy.js';

const copy: CopyFigure = { rows: 100, seconds: 1, rowsPerSecond: 100, runSeconds: [1, 1, 1] };
const run = (
  mode: PipelineFigure['mode'],
  timing: PipelineFigure['timing'],
  ratio: number,
  client: PipelineFigure['client'] = 'kafkajs',
): PipelineFigure => ({
  client,
  mode,
  timing,
  replayed: 100,
  rows: 100,
  deadLetters: 0,
  replaySeconds: 1,
  pipelineSeconds: 1,
  pipelinePerSecond: 100 * ratio,
  copy,
  ratio,
  complete: true,
  stageBusySeconds: {},
  cpuSeconds: [],
  idleSeconds: 0,
});

describe('bench ingest: modes and the summary over repeated runs', () => {
  it('runs each mode as the processes it names: one chain, the production layout, one per stage', () => {
    const stages = ['validate', 'enrich_weather', 'write_hypertable'];
    expect(modeProcesses('chain', stages)).toEqual([['validate+enrich_weather+write_hypertable']]);
    expect(modeProcesses('layout', stages)).toEqual([['validate+enrich_weather'], ['write_hypertable']]);
    expect(modeProcesses('topics', stages)).toEqual([['validate'], ['enrich_weather'], ['write_hypertable']]);
  });

  it('measures the pipeline with score_anomaly (what `eaio run all` runs) and without it', () => {
    expect(stagesFor('on')).toEqual(['validate', 'enrich_weather', 'score_anomaly', 'write_hypertable']);
    expect(stagesFor('off')).toEqual(['validate', 'enrich_weather', 'write_hypertable']);
    expect(modeProcesses('layout', stagesFor('on'))).toEqual([
      ['validate+enrich_weather+score_anomaly'],
      ['write_hypertable'],
    ]);
  });

  it('keeps runs with and without scoring apart in the summary', () => {
    const summary = summarise([
      run('chain', 'concurrent', 0.3),
      { ...run('chain', 'concurrent', 0.4), scoring: 'off' },
    ]);
    expect(summary.map((s) => [s.scoring, s.median])).toEqual([
      ['on', 0.3],
      ['off', 0.4],
    ]);
  });

  it('gives per client, mode and timing the median ratio with its range, in the order first measured', () => {
    const summary = summarise([
      run('chain', 'concurrent', 0.3),
      run('chain', 'backlog', 0.4),
      run('chain', 'concurrent', 0.2),
      run('chain', 'backlog', 0.5),
      run('chain', 'concurrent', 0.35),
      run('chain', 'concurrent', 0.6, 'platformatic'),
    ]);
    expect(
      summary.map(({ client, mode, timing, runs, median, min, max }) => ({
        client,
        mode,
        timing,
        runs,
        median,
        min,
        max,
      })),
    ).toEqual([
      { client: 'kafkajs', mode: 'chain', timing: 'concurrent', runs: 3, median: 0.3, min: 0.2, max: 0.35 },
      { client: 'kafkajs', mode: 'chain', timing: 'backlog', runs: 2, median: 0.45, min: 0.4, max: 0.5 },
      { client: 'platformatic', mode: 'chain', timing: 'concurrent', runs: 1, median: 0.6, min: 0.6, max: 0.6 },
    ]);
    expect(summary[0]).toMatchObject({ readings: 100, readingsPerSecond: 30, copyPerSecond: 100 });
  });

  it('ends with one key=value line per client, mode and timing', () => {
    const pipelines = [
      run('chain', 'concurrent', 0.3),
      run('chain', 'concurrent', 0.2),
      {
        ...run('layout', 'backlog', 0.15, 'platformatic'),
        peakRssMiB: [
          ['a', 120.4],
          ['b', 201.6],
        ] as [string, number][],
      },
    ];
    const text = renderIngest({ dir: 'd', variant: 'raw', pipelines, summary: summarise(pipelines) });
    expect(text.split('\n').slice(-2)).toEqual([
      'bench ingest: client=kafkajs mode=chained replay=concurrent readings=100 readings_per_s=25 copy_per_s=100 ratio=0.250 ratio_min=0.200 ratio_max=0.300 runs=2 scoring=on',
      'bench ingest: client=platformatic mode=layout replay=backlog readings=100 readings_per_s=15 copy_per_s=100 ratio=0.150 ratio_min=0.150 ratio_max=0.150 runs=1 peak_rss_mib=202 scoring=on',
    ]);
  });
});
