/** pino JSON logs: merging object first, constant message second; secrets redacted. */
import { type Logger, pino } from 'pino';

export function createLogger(options: { level?: string; name?: string; fd?: 1 | 2 } = {}): Logger {
  const settings = {
    name: options.name ?? 'eaio',
    level: options.level ?? 'info',
    redact: { paths: ['*.password', '*.connectionString', '*.sasl'], censor: '***' },
  };
  // stderr when stdout carries a result a script parses (`eaio run --json`).
  return options.fd === undefined ? pino(settings) : pino(settings, pino.destination({ fd: options.fd, sync: true }));
}

export type { Logger };
