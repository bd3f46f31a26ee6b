import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { evalCommand } from '../../cli/commands/eval.js';
import { evaluateAnomalies, formatEval } from '../../eval/anomalies.js';

const file = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const LEAD = file('tests/eval/fixtures/lead-small.csv');
const METADATA = file('tests/eval/fixtures/metadata-small.csv');
const MODEL = file('models/anomaly/anomaly.onnx');

describe('eaio eval anomalies', () => {
  it('scores a LEAD-format file, with and without metadata, and ends with the summary line', async () => {
    const result = await evaluateAnomalies({ lead: LEAD, metadata: METADATA, model: MODEL, threshold: 0.5 });
    expect(result.buildings.map((b) => [b.building, b.metadata])).toEqual([
      ['118', true],
      ['Nowhere_office_X', false],
    ]);
    expect(result.readings).toBe(2 * (35 * 24 - 1));
    expect(result.overall.positives).toBe(96);
    // The synthetic anomalies (a dropout day, a flat stretch, a missing weekday peak) are plain.
    expect(result.overall.rocAuc).toBeGreaterThan(0.95);
    expect(result.overall.f1).toBeGreaterThan(0.5);
    const text = formatEval(result);
    expect(text.split('\n').at(-1)).toMatch(
      /^eval anomalies: buildings=2 readings=1678 roc_auc=0\.\d{4} pr_auc=0\.\d{4} f1=0\.\d{4}$/,
    );
  });

  it('scores are causal: changing what follows a reading changes none of the earlier scores', async () => {
    const { writeFileSync, readFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const lines = readFileSync(LEAD, 'utf8').trim().split('\n');
    const cut = 600;
    const changed = lines.map((l, i) => {
      if (i <= cut || !l.startsWith('118,')) return l;
      const [b, t, , a] = l.split(',');
      return `${b},${t},${i % 2 ? 0 : 999},${a}`;
    });
    const dir = mkdtempSync(join(tmpdir(), 'eaio-eval-'));
    writeFileSync(join(dir, 'a.csv'), `${lines.slice(0, cut + 1).join('\n')}\n`);
    writeFileSync(join(dir, 'b.csv'), `${changed.join('\n')}\n`);
    const scoresOf = async (lead: string) => {
      const { scoreLeadFile } = await import('./score-helper.js');
      return scoreLeadFile(lead, MODEL);
    };
    const a = await scoresOf(join(dir, 'a.csv'));
    const b = await scoresOf(join(dir, 'b.csv'));
    expect(a.length).toBe(cut);
    expect(Array.from(b.slice(0, cut))).toEqual(Array.from(a));
    expect(Array.from(b.slice(cut))).not.toEqual(Array.from(b.slice(cut)).map(() => b[0]));
  });

  it('the command prints the report and rejects bad usage', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const code = await evalCommand.run([
        'anomalies',
        '--lead',
        LEAD,
        '--model',
        MODEL,
        '--threshold',
        '0.4',
        '--json',
      ]);
      expect(code).toBe(0);
      const result = JSON.parse(String(log.mock.calls.at(-1)?.[0]));
      expect(result.threshold).toBe(0.4);
      expect(result.buildings).toHaveLength(2);
      expect(err.mock.calls.some((c) => String(c[0]).includes('readings scored'))).toBe(true);
      await expect(evalCommand.run(['anomalies', '--threshold', '2'])).rejects.toThrow(/\[0, 1\]/);
      await expect(evalCommand.run(['anomalies', '--model', MODEL, '--lobo', 'x'])).rejects.toThrow(/not both/);
      expect(await evalCommand.run(['anomalies', '--lead', '/nonexistent.csv'])).toBe(1);
      expect(await evalCommand.run(['anomalies', '--lead', LEAD, '--model', file('models/tiny/linear2.onnx')])).toBe(1);
      expect(String(err.mock.calls.at(-1)?.[0])).toMatch(/does not match the contract/);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });
});
