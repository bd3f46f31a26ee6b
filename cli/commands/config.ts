import { loadEnv, renderEnvExample } from '../../config/load.js';
import { envSchema } from '../../config/schema.js';
import { type Command, UsageError } from '../command.js';

const usage = `Usage: eaio config <show|example|check>

  show      print every setting with its current value (passwords masked)
  example   print a .env.example generated from the schema
  check     validate the environment; exit 2 and list every problem if invalid`;

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
      process.stdout.write(renderEnvExample());
      return 0;
    }
    if (action === 'check') {
      loadEnv();
      console.log('configuration OK');
      return 0;
    }
    if (action === 'show') {
      const env = loadEnv() as Record<string, unknown>;
      for (const [key, field] of Object.entries(envSchema.shape)) {
        const value = env[key];
        console.log(`${key}=${value === undefined ? '' : maskSecrets(String(value))}    # ${field.description ?? ''}`);
      }
      return 0;
    }
    throw new UsageError(action ? `unknown action "${action}"` : 'missing action');
  },
};
