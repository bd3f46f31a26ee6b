import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Envelope, StageContext } from '../../../pipeline/index.js';
import { type CatalogSnapshot, catalogFrom } from '../../../stages/validate/catalog.js';
import { createValidateStage } from '../../../stages/validate/stage.js';

import { baseCatalog, karla, now, reading } from './fixtures.js';

const stageWith = (load: () => Promise<CatalogSnapshot>, missRefreshS = 0) =>
  createValidateStage({ loadCatalog: load, now, config: { maxRecords: 5, catalogMissRefreshMs: missRefreshS * 1000 } });

const ctx: StageContext = { stage: 'validate', log: pino({ level: 'silent' }), signal: new AbortController().signal };

function envelopes(values: readonly unknown[]): Envelope<unknown>[] {
  return values.map((value, i) => ({
    value,
    raw: {
      topic: 'readings.raw.v1',
      partition: 0,
      offset: String(i),
      key: null,
      value: null,
      headers: {},
      timestamp: 0,
    },
  }));
}

describe('validate stage', () => {
  it('emits the normalised reading keyed by meter id, and maps each rule to one snake_case dead-letter code', async () => {
    const stage = stageWith(async () => baseCatalog());
    await stage.init?.(ctx);
    const results = await stage.process(
      envelopes([
        reading({ value: 2.5, unit: 'MWh' }),
        reading({ source: 123, time: '2017-03-12T08:00:00Z' }),
        reading({ value: Number.NaN }),
      ]),
      ctx,
    );
    expect(results[0]).toMatchObject({
      kind: 'ok',
      outputs: [{ value: { value: 2500, unit: 'kWh', original_value: 2.5, original_unit: 'MWh', site_id: 'Panther' } }],
    });
    const out = results[0]?.kind === 'ok' ? results[0].outputs[0]?.value : undefined;
    expect(out && stage.output?.key(out)).toBe(`${karla}:electricity`);
    expect(results[1]).toMatchObject({ kind: 'dead_letter', code: 'schema_violation' });
    expect(results[1]?.kind === 'dead_letter' && results[1].error.message).toMatch(/^source:/);
    // NaN does not survive JSON; as a JS value it is the value rule's failure.
    expect(results[2]).toMatchObject({ kind: 'dead_letter', code: 'value_not_finite' });
  });

  it('picks up a building imported after start on a cache miss, without a restart', async () => {
    let snapshot = baseCatalog();
    let loads = 0;
    const stage = stageWith(async () => {
      loads++;
      return snapshot;
    });
    await stage.init?.(ctx);
    const lora = reading({ meter_id: 'Rat_office_Lora:electricity', building_id: 'Rat_office_Lora', site_id: 'Rat' });
    expect((await stage.process(envelopes([lora]), ctx))[0]).toMatchObject({
      kind: 'dead_letter',
      code: 'unknown_building',
    });
    snapshot = catalogFrom(
      [
        [karla, { siteId: 'Panther' }],
        ['Rat_office_Lora', { siteId: 'Rat' }],
      ],
      [
        [`${karla}:electricity`, { buildingId: karla, meterType: 'electricity' as const }],
        ['Rat_office_Lora:electricity', { buildingId: 'Rat_office_Lora', meterType: 'electricity' as const }],
      ],
    );
    expect((await stage.process(envelopes([lora]), ctx))[0]).toMatchObject({ kind: 'ok' });
    expect(loads).toBe(3);
  });

  it('reloads after a miss at most once per interval', async () => {
    let loads = 0;
    const stage = stageWith(async () => {
      loads++;
      return baseCatalog();
    }, 60);
    await stage.init?.(ctx);
    const unknown = reading({ meter_id: `${karla}:gas`, meter_type: 'gas' });
    for (let i = 0; i < 5; i++) {
      expect((await stage.process(envelopes([unknown]), ctx))[0]).toMatchObject({
        kind: 'dead_letter',
        code: 'unknown_meter',
      });
    }
    expect(loads).toBe(1);
  });

  it('keeps the last catalog when a reload fails, and asks for a retry when there is none', async () => {
    let fail = false;
    const stage = stageWith(async () => {
      if (fail) throw new Error('connection refused');
      return baseCatalog();
    });
    await stage.init?.(ctx);
    fail = true;
    const unknown = reading({ meter_id: `${karla}:gas`, meter_type: 'gas' });
    const results = await stage.process(envelopes([reading(), unknown]), ctx);
    expect(results.map((r) => r.kind)).toEqual(['ok', 'dead_letter']);

    const never = stageWith(async () => {
      throw new Error('connection refused');
    });
    await expect(never.process(envelopes([reading()]), ctx)).rejects.toMatchObject({
      name: 'TransientError',
      code: 'catalog_unavailable',
    });
  });
});
