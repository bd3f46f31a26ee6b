import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { commands } from '../../cli/registry.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function capture() {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    out.push(args.join(' '));
  });
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    out.push(args.join(' '));
  });
  return out;
}

describe('eaio CLI', () => {
  it.each(Object.keys(commands))('`eaio %s --help` prints its usage and exits 0', async (name) => {
    const out = capture();
    expect(await main([name, '--help'])).toBe(0);
    expect(out.join('\n')).toMatch(/Usage: eaio /);
  });

  it('lists every command in `eaio --help`', async () => {
    const out = capture();
    expect(await main(['--help'])).toBe(0);
    for (const name of Object.keys(commands)) expect(out.join('\n')).toContain(`  ${name} `);
  });

  it('an unknown command or option is a usage error (exit 2) naming the problem', async () => {
    const out = capture();
    expect(await main(['nope'])).toBe(2);
    expect(await main(['run', '--bogus'])).toBe(2);
    expect(await main(['run'])).toBe(2);
    expect(out.join('\n')).toMatch(/unknown command "nope"/);
    expect(out.join('\n')).toMatch(/Unknown option '--bogus'/);
  });
});
