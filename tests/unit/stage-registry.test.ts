import { describe, expect, it } from 'vitest';
import { loadEnv, parseEnvSection } from '../../config/load.js';
import { outputsByName } from '../../pipeline/index.js';
import { type AnyStageDescriptor, settingsSection, stageConfig } from '../../stages/descriptor.js';
import { createStage, pipelineStages, stageDescriptors, stagePlan } from '../../stages/registry.js';

const naming = { prefix: 'reg' };
const env = loadEnv({});
/** Clients that fail when used: `create` must not open any. */
const noClients = {
  postgres: () => {
    throw new Error('create opened a PostgreSQL pool');
  },
};

describe('the stage registry', () => {
  it('lists the pipeline in order, with unique snake_case names', () => {
    const names = stageDescriptors.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(pipelineStages()).toEqual(['validate', 'enrich_weather', 'write_hypertable']);
  });

  it.each(stageDescriptors.map((d) => [d.name, d] as const))(
    '%s: settings are EAIO_<STAGE>_*, documented, with defaults; former names point at current ones',
    (name, descriptor) => {
      const prefix = `EAIO_${name.toUpperCase()}_`;
      const section = settingsSection(descriptor);
      for (const [key, field] of Object.entries(section.schema.shape)) {
        expect(key.startsWith(prefix), key).toBe(true);
        expect((field as { description?: string }).description?.length ?? 0, key).toBeGreaterThan(10);
      }
      for (const current of Object.values(section.aliases ?? {}))
        expect(Object.keys(section.schema.shape)).toContain(current);
      expect(() => stageConfig(descriptor as AnyStageDescriptor, {})).not.toThrow();
    },
  );

  it.each(stageDescriptors.map((d) => [d.name] as const))(
    '%s: create opens no client and builds the stage its plan describes',
    async (name) => {
      const plan = stagePlan(name, naming, {});
      const stage = await createStage(name, { env, naming, source: {}, clients: noClients });
      expect(stage.name).toBe(plan.name);
      expect([...stage.inputs]).toEqual([...plan.inputs]);
      const outputs = Object.fromEntries([...outputsByName(stage)].map(([output, spec]) => [output, spec.topic]));
      expect(outputs).toEqual(plan.outputs);
      expect(stage.loadStoredOffsets !== undefined).toBe(plan.storesOffsets);
      for (const topic of [...plan.inputs, ...Object.values(plan.outputs)]) expect(topic).toMatch(/\.v[0-9]+$/);
      await stage.close?.();
    },
  );

  it('plans a chain from descriptors: entry inputs, the last main output, every step’s dead letters', async () => {
    const name = pipelineStages().join('+');
    const plan = stagePlan(name, naming, {});
    expect(plan.inputs).toEqual(['readings.raw.v1', 'weather.raw.v1']);
    expect(plan.outputs).toEqual({});
    expect(plan.group).toBe('reg.stage.validate+enrich_weather+write_hypertable');
    expect(plan.deadLetterTopics).toEqual([
      'reg.dlq.validate.v1',
      'reg.dlq.enrich_weather.v1',
      'reg.dlq.write_hypertable.v1',
    ]);
    expect(plan.storesOffsets).toBe(true);
    const chain = await createStage(name, { env, naming, source: {}, clients: noClients });
    expect([...chain.inputs]).toEqual(plan.inputs);
  });

  it('a setting follows the environment, under its current or its former name', () => {
    expect(
      stagePlan('write_hypertable', naming, { EAIO_WRITE_HYPERTABLE_INPUT_TOPIC: 'readings.scored.v1' }).inputs,
    ).toEqual(['readings.scored.v1']);
    expect(stagePlan('write_hypertable', naming, { EAIO_WRITER_INPUT_TOPIC: 'readings.scored.v1' }).inputs).toEqual([
      'readings.scored.v1',
    ]);
  });
});

describe('former setting names', () => {
  const schema = settingsSection(stageDescriptors[2]).schema;
  const aliases = { EAIO_WEATHER_MAX_WAIT_MS: 'EAIO_ENRICH_WEATHER_MAX_WAIT_MS' };

  it('are read with a deprecation warning when the current name is unset', () => {
    const values = parseEnvSection(schema, { EAIO_WEATHER_MAX_WAIT_MS: '1234' }, aliases);
    expect(values.EAIO_ENRICH_WEATHER_MAX_WAIT_MS).toBe(1234);
  });

  it('lose to the current name', () => {
    const values = parseEnvSection(
      schema,
      { EAIO_WEATHER_MAX_WAIT_MS: '1234', EAIO_ENRICH_WEATHER_MAX_WAIT_MS: '99' },
      aliases,
    );
    expect(values.EAIO_ENRICH_WEATHER_MAX_WAIT_MS).toBe(99);
  });
});
