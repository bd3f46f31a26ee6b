import type { z } from 'zod';
import { ConfigError, coreSection, parseEnvSection, parseEnvSections, renderEnvExample } from '../../config/load.js';
import { type Command, UsageError } from '../command.js';
import { extraSettingsSections } from '../settings-sections.js';

const usage = `Usage: eaio config <show|example|check>

  show      print every setting (core and per stage) with its current value (passwords masked)
  example   print a .env.example generated from the schemas
  check     validate the environment; exit 2 and list every problem if invalid

Every setting is optional; the defaults point at the local stack (eaio services up).`;

const sections = [coreSection, ...extraSettingsSections()];

function maskSecrets(value: string): string {
  return value.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

export const configCommand: Command = {
  name: 'config',
  summary: 'show, check or generate the environment configuration',
  usage,
  async run(argv) {
    const [action] = argv;
    if (action === 'example') {
      process.stdout.write(renderEnvExample(extraSettingsSections()));
      return 0;
    }
    if (action === 'check') {
      try {
        parseEnvSections(sections, process.env);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        console.error(error.message);
        return 2;
      }
      console.log('configuration OK');
      return 0;
    }
    if (action === 'show') {
      for (const section of sections) {
        const values = parseEnvSection(section.schema, process.env, section.aliases) as Record<string, unknown>;
        console.log(`# ${section.title}`);
        for (const [key, field] of Object.entries(section.schema.shape)) {
          const value = values[key];
          console.log(
            `${key}=${value === undefined ? '' : maskSecrets(String(value))}    # ${(field as z.ZodType).description ?? ''}`,
          );
        }
      }
      return 0;
    }
    throw new UsageError(action ? `unknown action "${action}"` : 'missing action');
  },
};
