import { TOPICS } from '../../domain/topics.js';
import { defineStage } from '../descriptor.js';
import { enrichWeatherCodes } from './codes.js';
import { enrichWeatherAliases, enrichWeatherSettings, toEnrichWeatherConfig } from './config.js';
import { enrichInputTopics } from './input.js';

export const enrichWeatherStage = defineStage({
  name: 'enrich_weather',
  summary:
    "stores weather; joins each reading with its site's observation at or before its hour; late weather is waited for (bounded), then weather_missing",
  settings: { schema: enrichWeatherSettings, aliases: enrichWeatherAliases, toConfig: toEnrichWeatherConfig },
  inputs: () => [...enrichInputTopics],
  outputs: () => ({ main: TOPICS.readingsEnriched }),
  codes: enrichWeatherCodes,
  async create({ config, clients }) {
    const { createEnrichWeatherStage } = await import('./stage.js');
    return createEnrichWeatherStage({ config, clients });
  },
});
