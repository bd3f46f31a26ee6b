import { afterEach, describe, expect, it, vi } from 'vitest';
import { configCommand } from '../../cli/commands/config.js';

const BAD = {
  EAIO_TOPIC_PARTITIONS: 'many',
  EAIO_ENRICH_WEATHER_MAX_WAIT_MS: '-1',
  EAIO_VALIDATE_BATCH_RECORDS: 'lots',
} as const;

describe('eaio config check', () => {
  const saved = new Map<string, string | undefined>();
  afterEach(() => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    saved.clear();
    vi.restoreAllMocks();
  });

  const setEnv = (vars: Record<string, string>) => {
    for (const [key, value] of Object.entries(vars)) {
      saved.set(key, process.env[key]);
      process.env[key] = value;
    }
  };

  it('lists the problems of the core and of several stages in one block', async () => {
    setEnv(BAD);
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await configCommand.run(['check'])).toBe(2);
    const printed = err.mock.calls.flat().join('\n');
    expect(printed.match(/Invalid configuration/g)).toHaveLength(1);
    expect(printed).toMatch(/^Invalid configuration \(3 problems\):/);
    for (const key of Object.keys(BAD)) expect(printed).toContain(`  - ${key}: `);
  });

  it('says OK when nothing is wrong', async () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await configCommand.run(['check'])).toBe(0);
    expect(out.mock.calls.flat()).toEqual(['configuration OK']);
  });
});
