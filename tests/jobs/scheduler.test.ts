import { pino } from 'pino';
import type { Sql } from 'postgres';
import { describe, expect, it } from 'vitest';
import type { JobDescriptor } from '../../jobs/registry.js';
import { scheduleJobs } from '../../jobs/scheduler.js';

/** A job whose runs wait until released, counting the runs started. */
function gatedJob() {
  const releases: (() => void)[] = [];
  let started = 0;
  const job: JobDescriptor = {
    name: 'gated',
    summary: 'test job',
    defaultSchedule: '0 0 1 1 *',
    async run() {
      started++;
      await new Promise<void>((resolve) => releases.push(resolve));
      return { runs: started };
    },
    didWork: () => true,
  };
  const releaseAll = async () => {
    for (let i = 0; i < 20 && releases.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    for (const release of releases.splice(0)) release();
  };
  return { job, releaseAll, started: () => started };
}

describe('scheduleJobs: runs between ticks', () => {
  it('a worker going quiet while a run is under way gets one more run after it, shared by every caller', async () => {
    const gated = gatedJob();
    const jobs = scheduleJobs(['gated'], {
      sql: () => ({ end: async () => undefined }) as unknown as Sql,
      log: pino({ level: 'silent' }),
      source: {},
      findJob: (name) => (name === 'gated' ? gated.job : undefined),
    });
    try {
      const first = jobs.runNow();
      await new Promise((r) => setTimeout(r, 5));
      expect(gated.started()).toBe(1);
      // Writes landed after the first run began: these callers must not settle for it.
      const quiet = Promise.all([jobs.runNow(), jobs.runNow()]);
      await gated.releaseAll();
      await first;
      await gated.releaseAll();
      await quiet;
      expect(gated.started()).toBe(2);
    } finally {
      await jobs.stop({ finalRun: false });
    }
  });
});
