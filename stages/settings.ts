import type { EnvSection } from '../config/load.js';
import { enrichWeatherSettings } from './enrich_weather/config.js';
import { validateSettings } from './validate/config.js';
import { writeHypertableSettings } from './write_hypertable/config.js';

/** Every stage's own settings, for `.env.example`, `eaio config show` and `eaio config check`. */
export const stageSettings: readonly EnvSection[] = [
  { title: 'Stage validate', schema: validateSettings },
  { title: 'Stage enrich_weather', schema: enrichWeatherSettings },
  { title: 'Stage write_hypertable', schema: writeHypertableSettings },
];
