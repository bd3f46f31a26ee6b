/** pino JSON logs: merging object first, constant message second; secrets redacted. */
import { type Logger, pino } from 'pino';

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'eaio',
    level: options.level ?? 'info',
    redact: { paths: ['*.password', '*.connectionString', '*.sasl'], censor: '***' },
  });
}

export type { Logger };
