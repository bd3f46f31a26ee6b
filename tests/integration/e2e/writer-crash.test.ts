import { describe, expect, it } from 'vitest';
import { account, EXACT } from './accounting.js';
import { expectedFromBdg2 } from './bdg2-expected.js';
import { type E2eWorld, PIPELINE_STAGES, useE2eWorld } from './e2e-env.js';
import { type Running, readDeadLetters, readMeterReadings, withAdmin } from './pipeline-processes.js';

const SAMPLE = 'data/bdg2-sample';
/** Small transactions so that the writer is still busy when it is killed. */
const WRITER_ENV = { EAIO_WRITE_HYPERTABLE_BATCH_RECORDS: '25' };
const CHAIN = PIPELINE_STAGES.join('+');

interface Mode {
  readonly name: string;
  /** Stages that run undisturbed beside the killed process, if any. */
  readonly upstream?: readonly string[];
  /** What the killed process runs. */
  readonly killed: readonly string[];
  readonly storedGroup: (prefix: string) => string;
  readonly storedTopic: (prefix: string) => string;
}

const MODES: readonly Mode[] = [
  {
    name: 'write_hypertable behind topics',
    upstream: PIPELINE_STAGES.filter((stage) => stage !== 'write_hypertable'),
    killed: ['write_hypertable'],
    storedGroup: (prefix) => `${prefix}.stage.write_hypertable`,
    storedTopic: (prefix) => `${prefix}.readings.scored.v1`,
  },
  {
    name: `the chain ${CHAIN}`,
    killed: [CHAIN],
    storedGroup: (prefix) => `${prefix}.stage.${CHAIN}`,
    storedTopic: (prefix) => `${prefix}.readings.raw.v1`,
  },
];

const worlds = MODES.map(() => useE2eWorld());

async function rowCount(world: () => E2eWorld): Promise<number> {
  const [row] = await world().db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM meter_readings`;
  return row?.n ?? 0;
}

/** Polls the table until `ready(count)`; fails if the process exits first or time runs out. */
async function waitForRows(
  world: () => E2eWorld,
  writer: Running,
  ready: (count: number) => boolean,
  what: string,
): Promise<number> {
  let exited = false;
  void writer.finished.then(() => {
    exited = true;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const count = await rowCount(world);
    if (ready(count)) return count;
    if (exited) throw new Error(`writer exited before ${what} (${count} rows)`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${count} rows)`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function killHard(writer: Running): Promise<void> {
  writer.child.kill('SIGKILL');
  const { signal } = await writer.finished;
  expect(signal).toBe('SIGKILL');
}

describe.each(MODES.map((mode, i) => ({ mode, world: worlds[i] as () => E2eWorld })))(
  '$mode.name killed with SIGKILL twice mid-stream',
  ({ mode, world }) => {
    it('ends with the same table as a clean run: every reading once, same values, offsets at the end', async () => {
      const run = world().eaio;
      const expected = expectedFromBdg2(SAMPLE, 'raw');
      const total = expected.readings.size;
      await run.runOk(['migrate']);
      await run.runOk(['import', '--bdg2', SAMPLE]);
      await run.runOk(['replay', '--bdg2', SAMPLE, '--variant', 'raw']);

      const upstream = mode.upstream ? run.start(['run', ...mode.upstream, '--exit-when-idle']) : undefined;
      const first = run.start(['run', ...mode.killed], WRITER_ENV);
      const atFirstKill = await waitForRows(world, first, (n) => n > 0, 'the first rows');
      await killHard(first);

      const second = run.start(['run', ...mode.killed], WRITER_ENV);
      const atSecondKill = await waitForRows(world, second, (n) => n >= atFirstKill + 500, '500 more rows');
      await killHard(second);
      // Both kills really happened mid-stream (otherwise this test would prove nothing).
      expect(atFirstKill).toBeLessThan(total);
      expect(atSecondKill).toBeLessThan(total);

      if (upstream) {
        const upstreamDone = await upstream.finished;
        expect(upstreamDone.code, upstreamDone.stderr).toBe(0);
      }
      await run.runOk(['run', ...mode.killed, '--exit-when-idle'], 90_000, WRITER_ENV);

      const rows = await readMeterReadings(world().db.sql);
      const deadLetters = (await Promise.all(PIPELINE_STAGES.map((stage) => readDeadLetters(run, stage)))).flat();
      expect(deadLetters).toEqual([]);
      expect(account(expected, rows, deadLetters)).toEqual(EXACT);
      expect(rows).toHaveLength(total);

      // The offsets stored with the rows reached the end of every partition of the writer's input.
      const topic = mode.storedTopic(run.prefix);
      const ends = await withAdmin((admin) => admin.fetchTopicOffsets(topic));
      const stored = await world().db.sql<{ partition: number; next_offset: string }[]>`
      SELECT partition, next_offset::text FROM stage_offsets
       WHERE consumer_group = ${mode.storedGroup(run.prefix)} AND topic = ${topic}`;
      const storedBy = new Map(stored.map((s) => [s.partition, s.next_offset]));
      for (const end of ends.filter((e) => e.high !== e.low)) expect(storedBy.get(end.partition)).toBe(end.high);
    });
  },
);
