import { ConfigError } from '../config/load.js';
import { UsageError, wantsHelp } from './command.js';
import { commands } from './registry.js';

async function renderTopHelp(): Promise<string> {
  const rows: string[] = [];
  for (const [name, load] of Object.entries(commands)) {
    const command = await load();
    rows.push(`  ${name.padEnd(10)} ${command.summary}`);
  }
  return [
    'eaio — building-energy meter data pipeline (Kafka → stages → PostgreSQL/Milvus)',
    '',
    'Usage: eaio <command> [options]    (every command takes --help)',
    '',
    'Commands:',
    ...rows,
    '',
    'Configuration comes from environment variables: `eaio config show` lists them.',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await renderTopHelp());
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`eaio: unknown command "${name}". Run \`eaio --help\` for the list.`);
    return 2;
  }
  const command = await load();
  if (wantsHelp(rest)) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    // node:util parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
    const code = (error as { code?: unknown } | null)?.code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'))) {
      console.error(`eaio ${name}: ${(error as Error).message}\n\n${command.usage}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
}
