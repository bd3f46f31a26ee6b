import { describe, expect, it } from 'vitest';
import { type PipelineFigure, summarise } from '../../bench/ingest.js';
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
});
