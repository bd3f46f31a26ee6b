import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEnv } from '../../config/load.js';
import { isMeterType, METER_TYPES, type MeterType } from '../../domain/meter-types.js';
import { TOPICS } from '../../domain/topics.js';
import {
  kafkaBrokerFromEnv,
  kafkaRootReason,
  loggerFromEnv,
  physicalTopic,
  ServiceUnreachableError,
} from '../../pipeline/index.js';
import { createCliProducer } from '../../sources/bdg2/kafka-producer.js';
import { parseMetadata } from '../../sources/bdg2/metadata.js';
import {
  type BuildingZone,
  ReplayReader,
  type ReplaySelection,
  type Variant,
} from '../../sources/bdg2/replay-events.js';
import { publishHours, type Speed } from '../../sources/bdg2/replay-publisher.js';
import { type Command, UsageError } from '../command.js';

const usage = `Usage: eaio replay --bdg2 DIR [--variant cleaned|raw] [--meters TYPE,...]
                   [--from T] [--to T] [--speed N|max]

Reads BDG2 wide meter files and weather.csv from DIR, converts each site's local time to UTC
(site time zone from DIR/metadata.csv) and publishes, in time order,
  readings → <prefix>.readings.raw.v1 (key: meter id "building:type")
  weather  → <prefix>.weather.raw.v1  (key: site id)
with the weather of an hour acknowledged before that hour's readings. Empty cells are not
readings. Progress goes to stderr, the final count per topic to stdout.

Options:
  --bdg2 DIR        BDG2 folder: metadata.csv, weather.csv, meters/cleaned/*_cleaned.csv, meters/raw/*.csv
  --variant V       cleaned (default: meters/cleaned/<type>_cleaned.csv) or raw (meters/raw/<type>.csv)
  --meters LIST     comma-separated meter types (default: all present): ${METER_TYPES.join(',')}
  --from T, --to T  UTC window [from, to): ISO date-time or YYYY-MM-DD (midnight UTC)
  --speed N|max     N simulated hours per wall-clock second (e.g. 24 = a day per second), or max (default)

Local-time edge cases: a local time inside the spring-forward gap does not exist and is dropped
(counted); a repeated fall-back hour maps to its first occurrence. See sources/bdg2/local-time.ts.

Examples:
  eaio replay --bdg2 data/bdg2-sample
  eaio replay --bdg2 data/bdg2-sample --variant raw --meters electricity,solar --speed 24
  eaio replay --bdg2 data/bdg2-sample --from 2017-03-11 --to 2017-03-13
  EAIO_TOPIC_PREFIX=dev1 eaio replay --bdg2 data/bdg2-sample`;

export interface ReplayArgs {
  dir: string;
  variant: Variant;
  meterTypes: MeterType[];
  fromMs?: number;
  toMs?: number;
  speed: Speed;
  /** --meters given: a missing file is worth a warning; otherwise absent types are simply not in the folder. */
  metersExplicit: boolean;
}

function parseTime(flag: string, value: string | undefined): number {
  if (!value) throw new UsageError(`${flag} needs a time, e.g. 2017-03-01 or 2017-03-01T06:00:00Z`);
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  if (!/(Z|[+-]\d{2}:\d{2})$/.test(iso)) {
    throw new UsageError(`${flag} "${value}": give a date (YYYY-MM-DD) or a date-time with Z or an offset`);
  }
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new UsageError(`${flag} "${value}" is not a valid date-time`);
  return ms;
}

export function parseReplayArgs(argv: readonly string[]): ReplayArgs {
  const args: ReplayArgs = {
    dir: '',
    variant: 'cleaned',
    meterTypes: [...METER_TYPES],
    speed: 'max',
    metersExplicit: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    switch (flag) {
      case '--bdg2':
        if (!value) throw new UsageError('--bdg2 needs a folder');
        args.dir = value;
        i++;
        break;
      case '--variant':
        if (value !== 'cleaned' && value !== 'raw')
          throw new UsageError(`--variant must be cleaned or raw, not "${value ?? ''}"`);
        args.variant = value;
        i++;
        break;
      case '--meters': {
        const types = (value ?? '')
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);
        const unknown = types.filter((t) => !isMeterType(t));
        if (types.length === 0 || unknown.length > 0) {
          throw new UsageError(
            `--meters: unknown meter type(s) ${unknown.join(', ') || '(none given)'}; choose from ${METER_TYPES.join(',')}`,
          );
        }
        args.meterTypes = types as MeterType[];
        args.metersExplicit = true;
        i++;
        break;
      }
      case '--from':
        args.fromMs = parseTime('--from', value);
        i++;
        break;
      case '--to':
        args.toMs = parseTime('--to', value);
        i++;
        break;
      case '--speed': {
        if (value === 'max') args.speed = 'max';
        else {
          const n = Number(value);
          if (!value || !Number.isFinite(n) || n <= 0)
            throw new UsageError(
              `--speed must be a positive number of hours per second or "max", not "${value ?? ''}"`,
            );
          args.speed = n;
        }
        i++;
        break;
      }
      default:
        throw new UsageError(`unknown argument "${flag}"`);
    }
  }
  if (!args.dir) throw new UsageError('missing --bdg2 DIR (a folder with metadata.csv, weather.csv and meters/)');
  if (args.fromMs !== undefined && args.toMs !== undefined && args.toMs <= args.fromMs) {
    throw new UsageError('--to must be after --from');
  }
  return args;
}

function loadZones(dir: string) {
  const file = join(dir, 'metadata.csv');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(
      `cannot read ${file} — --bdg2 must be a BDG2 folder (metadata.csv gives each site's time zone)`,
    );
  }
  const metadata = parseMetadata(text, file);
  const buildings = new Map<string, BuildingZone>(
    metadata.buildings.map((b) => [b.building_id, { siteId: b.site_id, timezone: b.timezone }]),
  );
  const sites = new Map(metadata.sites.map((s) => [s.site_id, s.timezone]));
  return { buildings, sites, problems: metadata.problems.length };
}

function progressPrinter(reader: ReplayReader) {
  const tty = process.stderr.isTTY === true;
  let lastPercent = -1;
  return (utcMs: number) => {
    const percent =
      reader.totalBytes > 0 ? Math.min(100, Math.floor((reader.bytesRead() / reader.totalBytes) * 100)) : 100;
    const label = `${new Date(utcMs).toISOString().slice(0, 13)}Z  readings ${reader.stats.readings}  weather ${reader.stats.weather}`;
    if (tty) {
      const width = 30;
      const filled = Math.round((percent / 100) * width);
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}%  ${label}`,
      );
    } else if (percent >= lastPercent + 10) {
      lastPercent = percent - (percent % 10);
      process.stderr.write(`${String(percent).padStart(3)}%  ${label}\n`);
    }
  };
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'publish BDG2 meter readings and weather to Kafka in time order',
  usage,
  async run(argv) {
    const args = parseReplayArgs(argv);
    const env = loadEnv();
    const zones = loadZones(args.dir);
    if (zones.problems > 0)
      console.error(
        `note: ${zones.problems} metadata row(s) rejected (see \`eaio import --dry-run\`); their readings are skipped`,
      );
    const selection: ReplaySelection = {
      dir: args.dir,
      variant: args.variant,
      meterTypes: args.meterTypes,
      fromMs: args.fromMs,
      toMs: args.toMs,
    };
    const reader = new ReplayReader(selection, zones.buildings, zones.sites);
    await kafkaBrokerFromEnv(env, loggerFromEnv({ LOG_LEVEL: 'silent' })).probe();
    const producer = createCliProducer(env, 'replay');
    const prefix = { prefix: env.EAIO_TOPIC_PREFIX };
    try {
      await producer.connect();
      await producer.ensureTopics([
        physicalTopic(prefix, TOPICS.readingsRaw),
        physicalTopic(prefix, TOPICS.weatherRaw),
      ]);
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw new ServiceUnreachableError('Kafka', env.KAFKA_BROKERS, kafkaRootReason(error), { cause: error });
    }
    const progress = progressPrinter(reader);
    try {
      const counts = await publishHours(reader.hours(), producer, {
        topicPrefix: env.EAIO_TOPIC_PREFIX,
        speed: args.speed,
        onHourPublished: (h) => progress(h.utcMs),
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      const s = reader.stats;
      if (args.metersExplicit) for (const missing of s.missingFiles) console.error(`no file ${missing} (skipped)`);
      console.error(`read ${s.files.length} file(s): ${s.files.join(', ')}`);
      const skipped = [
        ['local time in a DST gap', s.skippedNonexistentLocalTime],
        ['building not in metadata', s.skippedUnknownBuilding],
        ['site not in metadata', s.skippedUnknownSite],
        ['not a number', s.skippedMalformedValue],
        ['outside --from/--to', s.skippedOutOfRange],
      ].filter(([, n]) => Number(n) > 0);
      if (skipped.length) console.error(`skipped: ${skipped.map(([why, n]) => `${n} ${why}`).join(', ')}`);
      if (s.ambiguousLocalTimes > 0)
        console.error(`${s.ambiguousLocalTimes} value(s) at a repeated fall-back hour mapped to its first occurrence`);
      console.log(`${counts.readings.topic}: ${counts.readings.count}`);
      console.log(`${counts.weather.topic}: ${counts.weather.count}`);
      return 0;
    } catch (error) {
      if (process.stderr.isTTY) process.stderr.write('\n');
      console.error(`eaio replay: ${(error as Error).message}`);
      return 1;
    } finally {
      await producer.disconnect();
    }
  },
};
