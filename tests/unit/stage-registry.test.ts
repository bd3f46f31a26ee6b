import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadEnv, parseEnvSection } from '../../config/load.js';
import { outputsByName } from '../../pipeline/index.js';
import { type AnyStageDescriptor, settingsSection, stageConfig } from '../../stages/descriptor.js';
import { enrichWeatherStage } from '../../stages/enrich_weather/index.js';
import { createStage, pipelineStages, stageDescriptors, stagePlan } from '../../stages/registry.js';

const naming = { prefix: 'reg' };
const env = loadEnv({});
/** Clients that fail when used: `create` must not open any. */
const noClients = {
  postgres: () => {
    throw new Error('create opened a PostgreSQL pool');
  },
  startupWaitMs: 0,
};

describe('the stage registry', () => {
  it('lists the pipeline in order, with unique snake_case names', () => {
    const names = stageDescriptors.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(pipelineStages()).toEqual(['validate', 'enrich_weather', 'score_anomaly', 'write_hypertable']);
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
    // The sink's main output is none; score_anomaly's alerts are produced by the chain.
    expect(plan.outputs).toEqual({ anomalies: 'anomalies.v1' });
    expect(plan.group).toBe('reg.stage.validate+enrich_weather+score_anomaly+write_hypertable');
    expect(plan.deadLetterTopics).toEqual([
      'reg.dlq.validate.v1',
      'reg.dlq.enrich_weather.v1',
      'reg.dlq.score_anomaly.v1',
      'reg.dlq.write_hypertable.v1',
    ]);
    expect(plan.storesOffsets).toBe(true);
    const chain = await createStage(name, { env, naming, source: {}, clients: noClients });
    expect([...chain.inputs]).toEqual(plan.inputs);
  });

  it('a setting follows the environment, under its current or its former name', () => {
    expect(
      stagePlan('write_hypertable', naming, { EAIO_WRITE_HYPERTABLE_INPUT_TOPIC: 'readings.enriched.v1' }).inputs,
    ).toEqual(['readings.enriched.v1']);
    expect(stagePlan('write_hypertable', naming, { EAIO_WRITER_INPUT_TOPIC: 'readings.enriched.v1' }).inputs).toEqual([
      'readings.enriched.v1',
    ]);
    expect(stagePlan('write_hypertable', naming, {}).inputs).toEqual(['readings.scored.v1']);
  });
});

describe('former setting names', () => {
  const section = settingsSection(enrichWeatherStage);
  const parse = (source: NodeJS.ProcessEnv) => parseEnvSection(section.schema, source, section.aliases);

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('are read with one deprecation line per name and process, naming the current variable', () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(parse({ EAIO_ENRICH_BATCH_RECORDS: '123' }).EAIO_ENRICH_WEATHER_BATCH_RECORDS).toBe(123);
    expect(parse({ EAIO_ENRICH_BATCH_RECORDS: '124' }).EAIO_ENRICH_WEATHER_BATCH_RECORDS).toBe(124);
    const lines = stderr.mock.calls.map(([line]) => String(line));
    expect(lines).toEqual([
      'eaio: EAIO_ENRICH_BATCH_RECORDS is deprecated; rename it to EAIO_ENRICH_WEATHER_BATCH_RECORDS (the old name still works for now)\n',
    ]);
  });

  it('lose to the current name, with a line saying the former one is ignored', () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const values = parse({ EAIO_WEATHER_MAX_WAIT_MS: '1234', EAIO_ENRICH_WEATHER_MAX_WAIT_MS: '99' });
    expect(values.EAIO_ENRICH_WEATHER_MAX_WAIT_MS).toBe(99);
    expect(stderr.mock.calls.map(([line]) => String(line))).toEqual([
      'eaio: EAIO_WEATHER_MAX_WAIT_MS is ignored because EAIO_ENRICH_WEATHER_MAX_WAIT_MS is set; remove EAIO_WEATHER_MAX_WAIT_MS\n',
    ]);
  });

  it('cover every setting a stage had before it was EAIO_<STAGE>_* (the documented former names)', () => {
    const former = stageDescriptors.flatMap((d) => Object.keys(settingsSection(d).aliases ?? {}));
    expect(former.sort()).toEqual(
      [
        'EAIO_ENRICH_BATCH_RECORDS',
        'EAIO_ENRICH_DB_POOL',
        'EAIO_WEATHER_CACHE_HOURS',
        'EAIO_WEATHER_MAX_WAIT_MS',
        'EAIO_WEATHER_TOLERANCE_HOURS',
        'EAIO_WRITER_BATCH_RECORDS',
        'EAIO_WRITER_DB_POOL',
        'EAIO_WRITER_INPUT_TOPIC',
      ].sort(),
    );
  });
});
