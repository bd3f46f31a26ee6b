import cron from 'node-cron';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keyValueLine } from '../../cli/commands/jobs.js';
import { main } from '../../cli/main.js';
import { jobs } from '../../jobs/registry.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function capture() {
  const out: string[] = [];
  const push = (...args: unknown[]) => {
    out.push(args.join(' '));
  };
  vi.spyOn(console, 'log').mockImplementation(push);
  vi.spyOn(console, 'error').mockImplementation(push);
  return out;
}

describe('jobs registry', () => {
  it('names are unique snake_case and every default schedule is a valid cron expression', () => {
    const names = jobs.map((job) => job.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('aggregate_refresh');
    for (const job of jobs) {
      expect(job.name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(cron.validate(job.defaultSchedule), job.name).toBe(true);
    }
  });
});

describe('eaio jobs', () => {
  it('list prints one line per job with its schedule', async () => {
    const out = capture();
    expect(await main(['jobs', 'list'])).toBe(0);
    expect(out).toHaveLength(jobs.length);
    expect(out[0]).toMatch(/^aggregate_refresh\s+\* \* \* \* \*\s+\S/);
  });

  it('an unknown job or action is a usage error (exit 2) that names the known ones', async () => {
    const out = capture();
    expect(await main(['jobs', 'run', 'vacuum_everything'])).toBe(2);
    expect(await main(['jobs', 'run'])).toBe(2);
    expect(await main(['jobs', 'start'])).toBe(2);
    expect(out.join('\n')).toMatch(/unknown job "vacuum_everything" \(known: aggregate_refresh\)/);
    expect(out.join('\n')).toMatch(/name the job to run/);
    expect(out.join('\n')).toMatch(/unknown action "start"/);
  });

  it('prints a report as one key=value line, quoting values a parser would split', () => {
    expect(keyValueLine({ job: 'a', partitions_created: 2, views_refreshed: 'x,y' })).toBe(
      'job=a partitions_created=2 views_refreshed=x,y',
    );
    expect(keyValueLine({ note: 'two words', empty: '' })).toBe('note="two words" empty=""');
  });
});
