import { defineStage } from '../descriptor.js';
import { writeHypertableCodes } from './codes.js';
import { toWriteHypertableConfig, writeHypertableAliases, writeHypertableSettings } from './config.js';

export const writeHypertableStage = defineStage({
  name: 'write_hypertable',
  summary:
    'stores readings in meter_readings (idempotent on meter and hour) and flagged ones in anomalies, with the consumed offsets in the same transaction',
  settings: { schema: writeHypertableSettings, aliases: writeHypertableAliases, toConfig: toWriteHypertableConfig },
  inputs: (config) => [config.inputTopic],
  outputs: () => ({}),
  storesOffsets: true,
  // It is what changes meter_readings, so its workers keep partitions ahead and the roll-ups fresh.
  jobs: ['aggregate_refresh'],
  codes: writeHypertableCodes,
  async create({ config, clients, offsetsGroup }) {
    const { createWriteHypertableStage } = await import('./stage.js');
    return createWriteHypertableStage({ config, clients, offsetsGroup });
  },
});
