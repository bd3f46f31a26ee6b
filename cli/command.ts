/** One `eaio` subcommand: small, self-describing, returns an exit code. */
export interface Command {
  readonly name: string;
  /** One line shown in `eaio --help`. */
  readonly summary: string;
  /** Full text shown by `eaio <name> --help`. */
  readonly usage: string;
  run(argv: readonly string[]): Promise<number>;
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** A user mistake on the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
