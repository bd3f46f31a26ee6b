import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EAIO_NODE_FLAGS } from '../../cli/node-flags.js';

const read = (path: string) => readFileSync(path, 'utf8');
const flags = EAIO_NODE_FLAGS.join(' ');

describe('eaio processes start with the same V8 flags everywhere', () => {
  it('the npm scripts and the shell scripts pass cli/node-flags.ts', () => {
    // The benchmarks' own process measures the COPY ceiling: it runs with Node's defaults, since
    // with the flags its COPY measured ~3 % slower, which would flatter the pipeline's ratio.
    const scripts = Object.entries(JSON.parse(read('package.json')).scripts as Record<string, string>)
      .filter(([name]) => !name.startsWith('bench'))
      .map(([, command]) => command);
    const shell = ['scripts/demo.sh', 'scripts/test.sh'].flatMap((f) => read(f).split('\n'));
    const launches = [...scripts, ...shell].filter((line) => line.includes('bin/eaio.mjs'));
    expect(launches.length).toBeGreaterThanOrEqual(4);
    for (const line of launches) expect(line).toContain(`node ${flags} bin/eaio.mjs`);
  });

  it('the image sets them for every container, and the CLI spawns its processes with them', () => {
    expect(read('Dockerfile')).toContain(`ENV NODE_OPTIONS=${flags}`);
    for (const file of ['cli/commands/demo.ts', 'bench/ingest.ts', 'tests/integration/e2e/pipeline-processes.ts']) {
      const spawns = read(file).match(/spawn\(process\.execPath, \[[^\]]*/g) ?? [];
      expect(spawns.length, file).toBeGreaterThan(0);
      for (const call of spawns) expect(call, file).toContain('...EAIO_NODE_FLAGS');
    }
  });
});
