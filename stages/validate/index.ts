import { TOPICS } from '../../domain/topics.js';
import { defineStage } from '../descriptor.js';
import { validateCodes } from './codes.js';
import { toValidateConfig, validateSettings } from './config.js';

export const validateStage = defineStage({
  name: 'validate',
  summary:
    'schema, known building and meter, unit → canonical (kWh, L), physical bounds, time sanity; duplicates skipped, the rest dead-lettered with a specific code',
  settings: { schema: validateSettings, toConfig: toValidateConfig },
  inputs: () => [TOPICS.readingsRaw],
  outputs: () => ({ main: TOPICS.readingsValidated }),
  codes: validateCodes,
  async create({ config, clients }) {
    const { createValidateStage } = await import('./stage.js');
    return createValidateStage({ config, clients });
  },
});
