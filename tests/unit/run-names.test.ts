import { describe, expect, it } from 'vitest';
import { resolveStageNames } from '../../cli/commands/run.js';

describe('eaio run: which stages (or chains) a command line names', () => {
  it('runs `all` as the pipeline stages, each on its own or as one chain with --chain, and the branch stages beside them', () => {
    expect(resolveStageNames(['all'])).toEqual([
      'validate',
      'enrich_weather',
      'score_anomaly',
      'write_hypertable',
      'embed_profiles',
    ]);
    expect(resolveStageNames(['all'], true)).toEqual([
      'validate+enrich_weather+score_anomaly+write_hypertable',
      'embed_profiles',
    ]);
    expect(resolveStageNames(['validate', 'enrich_weather'])).not.toContain('embed_profiles');
    expect(resolveStageNames(['all'], true, false)).toEqual(['validate+enrich_weather+score_anomaly+write_hypertable']);
  });

  it('refuses a branch stage as a step of a chain, naming the way to run it', () => {
    expect(() => resolveStageNames(['write_hypertable+embed_profiles'])).toThrow(
      /embed_profiles .*cannot be a step of a chain/,
    );
    expect(() => resolveStageNames(['all', 'embed_profiles'], true)).toThrow(/cannot be a step of a chain/);
    expect(resolveStageNames(['all', 'embed_profiles'])).toContain('embed_profiles');
  });

  it('keeps a+b chains as given, and joins named stages with --chain', () => {
    expect(resolveStageNames(['validate+enrich_weather', 'write_hypertable'])).toEqual([
      'validate+enrich_weather',
      'write_hypertable',
    ]);
    expect(resolveStageNames(['validate', 'enrich_weather'], true)).toEqual(['validate+enrich_weather']);
  });

  it('names the unknown part of a chain', () => {
    expect(() => resolveStageNames(['validate+enrich'])).toThrow(/unknown stage "enrich"/);
    expect(() => resolveStageNames([])).toThrow(/at least one stage/);
  });
});
