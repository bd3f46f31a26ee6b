import type { Sql } from 'postgres';
import { loadEnv } from '../../../config/load.js';
import { embedProfilesSettings, toEmbedProfilesConfig } from '../../../stages/embed_profiles/config.js';
import { createEmbedProfilesStage } from '../../../stages/embed_profiles/stage.js';
import type { ConformanceCase } from '../../conformance/case.js';

const json = (v: unknown) => JSON.stringify(v);
const scored = {
  schema_version: 1,
  meter_id: 'Panther_office_Karla:electricity',
  building_id: 'Panther_office_Karla',
  site_id: 'Panther',
  meter_type: 'electricity',
  time: '2017-03-12T08:00:00Z',
  value: 12.5,
  unit: 'kWh',
  air_temperature: 3.1,
  dew_temperature: -2,
  anomaly_score: 0.1,
  is_anomaly: false,
};

/** The harness's pool stays open for the suite: the stage's close must not end it. */
const borrowed = (sql: Sql): Sql =>
  new Proxy(sql, { get: (target, p) => (p === 'end' ? async () => undefined : Reflect.get(target, p)) });

export const conformance: ConformanceCase = {
  make: ({ sql }) =>
    createEmbedProfilesStage({
      config: {
        ...toEmbedProfilesConfig(embedProfilesSettings.parse({})),
        // Fixed names: each run reuses them instead of leaving new collections on the shared Milvus.
        collections: { patterns: 'conformance_embed_profiles_p', signatures: 'conformance_embed_profiles_s' },
      },
      clients: { postgres: () => borrowed(sql), startupWaitMs: 5_000 },
      milvusAddress: loadEnv().MILVUS_ADDRESS,
    }),
  samples: [
    { key: scored.meter_id, value: json(scored), expect: 'ok' },
    { key: scored.meter_id, value: json({ ...scored, time: '2017-03-12T09:00:00Z', value: 13 }), expect: 'ok' },
    { key: scored.meter_id, value: json({ ...scored, value: 'high' }), expect: 'dead_letter' },
    { key: scored.meter_id, value: json({ ...scored, time: 'yesterday' }), expect: 'dead_letter' },
  ],
};
