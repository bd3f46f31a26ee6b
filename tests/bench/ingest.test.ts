import { describe, expect, it } from 'vitest';
import { type PipelineFigure, renderIngest, summarise } from '../../bench/ingest.js';
import type { CopyFigure } from '../../bench/ingest-copy.js';

const copy: CopyFigure = { rows: 100, seconds: 1, rowsPerSecond: 100, runSeconds: [1, 1, 1] };
const run = (mode: PipelineFigure['mode'], timing: PipelineFigure['timing'], ratio: number): PipelineFigure => ({
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

describe('bench ingest: the summary over repeated runs', () => {
  it('gives per mode and timing the median ratio with its range, in the order first measured', () => {
    const summary = summarise([
      run('chain', 'concurrent', 0.3),
      run('chain', 'backlog', 0.4),
      run('chain', 'concurrent', 0.2),
      run('chain', 'backlog', 0.5),
      run('chain', 'concurrent', 0.35),
    ]);
    expect(summary).toEqual([
      { mode: 'chain', timing: 'concurrent', runs: 3, median: 0.3, min: 0.2, max: 0.35 },
      { mode: 'chain', timing: 'backlog', runs: 2, median: 0.45, min: 0.4, max: 0.5 },
    ]);
  });

  it('ends with one key=value line: the median ratio to COPY in % with its range, per mode and timing', () => {
    const pipelines = [
      run('chain', 'concurrent', 0.3),
      run('chain', 'concurrent', 0.2),
      run('topics', 'backlog', 0.15),
    ];
    const text = renderIngest({ dir: 'd', variant: 'raw', pipelines, summary: summarise(pipelines) });
    expect(text.split('\n').at(-1)).toBe(
      'readings=100 ratio_pct_chain_concurrent=25.0 ratio_pct_chain_concurrent_min=20.0 ratio_pct_chain_concurrent_max=30.0 ratio_pct_topics_backlog=15.0 ratio_pct_topics_backlog_min=15.0 ratio_pct_topics_backlog_max=15.0 runs=2',
    );
  });
});
