import { defineStage } from '../descriptor.js';
import { embedProfilesCodes } from './codes.js';
import { embedProfilesSettings, toEmbedProfilesConfig } from './config.js';

export const embedProfilesStage = defineStage({
  name: 'embed_profiles',
  summary:
    'embeds each meter’s closed local days (event time) into Milvus building_patterns and each anomaly alert into anomaly_signatures (its own group)',
  // Its own consumer group beside the writer: `eaio run all` runs it, never as a step of the chain.
  branch: true,
  settings: { schema: embedProfilesSettings, toConfig: toEmbedProfilesConfig },
  inputs: (config) => [config.inputTopic, config.alertsTopic],
  outputs: () => ({}),
  codes: embedProfilesCodes,
  async create({ config, clients, env }) {
    const { createEmbedProfilesStage } = await import('./stage.js');
    return createEmbedProfilesStage({ config, clients, milvusAddress: env.MILVUS_ADDRESS });
  },
});
