import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadEnv } from '../../config/load.js';
import { TOPICS } from '../../domain/topics.js';
import {
  kafkaBrokerFromEnv,
  kafkaRootReason,
  loggerFromEnv,
  type ProduceRecord,
  physicalTopic,
  ServiceUnreachableError,
} from '../../pipeline/index.js';
import { createCliProducer } from '../../sources/bdg2/kafka-producer.js';
import { type LongHeader, mapLongRow, parseLongHeader } from '../../sources/bdg2/long-csv.js';
import { parseMetadata } from '../../sources/bdg2/metadata.js';
import type { BuildingZone } from '../../sources/bdg2/replay-events.js';
import { type Command, UsageError } from '../command.js';
import { type InputLine, readLines } from '../line-reader.js';
import {
  DEFAULT_MAX_BYTES,
  keyed,
  type Mapped,
  mapJsonLine,
  type PublishTopic,
  REFUSAL_REASONS,
  type RefusalReason,
} from '../publish-records.js';

const usage = `Usage: eaio publish [--topic raw|weather] [--format jsonl|csv] [--bdg2-metadata FILE]
                    [--max-bytes N] [FILE|-]

Publishes your own readings (or weather observations) onto the raw topics, keyed as the pipeline
expects, without writing a Kafka client:
  --topic raw      → <prefix>.readings.raw.v1 (key: meter_id)   (the default)
  --topic weather  → <prefix>.weather.raw.v1  (key: site_id)
Reads FILE, or standard input for "-" (or when no FILE is given and input is piped).

Input, one message per line (docs/messages.md, "Publishing your own readings"):
  JSON lines   one RawReading / WeatherObservation object per line, sent as written; or
               {"value": <message>, "headers": {"name": "text", ...}} (exactly these two keys):
               the message is sent with those Kafka headers — how corrected dead letters go
               back with their provenance (x-dlq-*)
  CSV (long)   header timestamp,meter_id,value[,unit,site_id,is_estimated,source], one reading
               per row; meter_id is "<building>:<type>" (building and type are taken from it),
               unit defaults to the type's BDG2 unit (kWh, or L for water and irrigation), an
               empty value is no reading. Timestamps with Z or an offset are used as they are;
               naive BDG2 local times need --bdg2-metadata (each site's time zone).
  The format is detected from the first non-empty line ("{" → JSON lines), or given by --format.

Refused before sending, each counted and listed on stderr with its line number (first 20):
  not_json, not_an_object, bad_headers (envelope headers not a text map), missing_key (no
  meter_id / site_id to key by), too_large (key + value + headers over --max-bytes); for CSV also
  bad_csv_row, not_a_number, no_time_zone (local time without --bdg2-metadata, or a building not
  in it), nonexistent_local_time (a DST-gap hour). Nothing else is judged here: the validate
  stage checks each reading's content and dead-letters what is wrong, with a code and its fix
  (\`eaio dlq list validate\`).

Output: progress on stderr for long inputs, then one summary line on stdout, e.g.
  sent=12 refused=2 refused_not_json=1 refused_too_large=1 topic=eaio.readings.raw.v1
Exit code: 0 when everything sendable was sent (refused lines do not fail the run; read refused=
from the summary), 1 when sending failed or Kafka is unreachable, 2 for a usage error.

Options:
  --topic T            raw (default) or weather
  --format F           jsonl or csv (default: detected)
  --bdg2-metadata F    BDG2 metadata.csv (or the folder holding it): site time zones for naive CSV
                       local times, and site_id for readings without one
  --max-bytes N        largest record to send, bytes (default ${DEFAULT_MAX_BYTES}; the broker's default
                       message.max.bytes is 1 MiB)

Examples:
  eaio publish readings.jsonl
  gateway-export | eaio publish -
  eaio publish --topic weather weather.jsonl
  eaio publish --bdg2-metadata data/bdg2-sample/metadata.csv meters-long.csv
  eaio dlq export validate --code unknown_unit > fix.jsonl; $EDITOR fix.jsonl; eaio publish fix.jsonl`;

export interface PublishArgs {
  topic: PublishTopic;
  format?: 'jsonl' | 'csv';
  metadata?: string;
  maxBytes: number;
  /** A path, or '-' for standard input. */
  file: string;
}

export function parsePublishArgs(argv: readonly string[], stdinIsTty = process.stdin.isTTY === true): PublishArgs {
  const args: Partial<PublishArgs> & Pick<PublishArgs, 'topic' | 'maxBytes'> = {
    topic: 'raw',
    maxBytes: DEFAULT_MAX_BYTES,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = argv[i + 1];
    switch (flag) {
      case '--topic':
        if (value !== 'raw' && value !== 'weather')
          throw new UsageError(`--topic must be raw or weather, not "${value ?? ''}"`);
        args.topic = value;
        i++;
        break;
      case '--format':
        if (value !== 'jsonl' && value !== 'csv')
          throw new UsageError(`--format must be jsonl or csv, not "${value ?? ''}"`);
        args.format = value;
        i++;
        break;
      case '--bdg2-metadata':
        if (!value) throw new UsageError('--bdg2-metadata needs a BDG2 metadata.csv file (or its folder)');
        args.metadata = value;
        i++;
        break;
      case '--max-bytes': {
        const n = Number(value);
        if (!value || !Number.isInteger(n) || n < 64)
          throw new UsageError(`--max-bytes must be a whole number of bytes (at least 64), not "${value ?? ''}"`);
        args.maxBytes = n;
        i++;
        break;
      }
      default:
        if (flag.startsWith('-') && flag !== '-') throw new UsageError(`unknown option "${flag}"`);
        if (args.file !== undefined) throw new UsageError(`one input at a time: "${args.file}" and "${flag}"`);
        args.file = flag;
    }
  }
  if (args.file === undefined) {
    if (stdinIsTty) throw new UsageError('give a FILE, or pipe the lines in with "-"');
    args.file = '-';
  }
  if (args.format === 'csv' && args.topic === 'weather')
    throw new UsageError(
      'CSV input is for meter readings; publish weather as JSON lines (or `eaio replay` a BDG2 folder)',
    );
  return args as PublishArgs;
}

function loadZones(path: string): Map<string, BuildingZone> {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, 'metadata.csv');
  } catch {
    // reported below, with the path the user gave
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${file} — --bdg2-metadata must be a BDG2 metadata.csv (or its folder)`);
  }
  const metadata = parseMetadata(text, file);
  return new Map(metadata.buildings.map((b) => [b.building_id, { siteId: b.site_id, timezone: b.timezone }]));
}

function openInput(file: string): AsyncIterable<Buffer> {
  if (file === '-') return process.stdin;
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
  } catch {
    throw new UsageError(`cannot read ${file} (give a file, or "-" for standard input)`);
  }
  return createReadStream(file);
}

/** Counts of one run; the summary line is made from it. */
export class PublishCounts {
  sent = 0;
  failed = 0;
  emptyValues = 0;
  lines = 0;
  readonly refused = new Map<RefusalReason, number>();
  private listed = 0;

  constructor(
    readonly topic: string,
    private readonly listLimit = 20,
    private readonly note: (line: string) => void = (l) => console.error(l),
  ) {}

  refuse(line: number, reason: RefusalReason, detail: string): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
    if (this.listed++ < this.listLimit) this.note(`line ${line}: refused (${reason}): ${detail}`);
  }

  refusedTotal(): number {
    return [...this.refused.values()].reduce((a, b) => a + b, 0);
  }

  unlisted(): number {
    return Math.max(0, this.listed - this.listLimit);
  }

  summary(): string {
    const parts = [`sent=${this.sent}`, `refused=${this.refusedTotal()}`];
    for (const reason of REFUSAL_REASONS) {
      const n = this.refused.get(reason);
      if (n) parts.push(`refused_${reason}=${n}`);
    }
    if (this.emptyValues > 0) parts.push(`empty_values=${this.emptyValues}`);
    if (this.failed > 0) parts.push(`failed=${this.failed}`);
    parts.push(`topic=${this.topic}`);
    return parts.join(' ');
  }
}

/** The first non-empty line (to detect the format) and the lines from there on. */
async function peek(lines: AsyncGenerator<InputLine>): Promise<{ first?: InputLine; rest: AsyncGenerator<InputLine> }> {
  for (;;) {
    const next = await lines.next();
    if (next.done) return { rest: lines };
    const line = next.value;
    if ('text' in line && line.text.trim() === '') continue;
    return { first: line, rest: lines };
  }
}

type LineMapper = (text: string) => Mapped | 'empty';

function csvMapper(header: LongHeader, args: PublishArgs, zones: Map<string, BuildingZone> | undefined): LineMapper {
  const source = args.file === '-' ? 'csv:stdin' : `csv:${basename(args.file)}`.slice(0, 100);
  return (text) => {
    const row = mapLongRow(text, header, zones, source);
    if ('empty' in row) return 'empty';
    if ('problem' in row) return { refused: { reason: row.problem, detail: row.detail } };
    return keyed(row.reading, JSON.stringify(row.reading), 'raw', args.maxBytes);
  };
}

function progressPrinter(counts: PublishCounts): { tick(): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = Date.now();
  let shown = false;
  const show = () => `read ${counts.lines} line(s): sent ${counts.sent}, refused ${counts.refusedTotal()}`;
  return {
    tick() {
      if ((counts.lines & 1023) !== 0) return;
      const now = Date.now();
      if (now - last < (tty ? 500 : 5_000)) return;
      last = now;
      shown = true;
      process.stderr.write(tty ? `\r${show()}` : `${show()}\n`);
    },
    done() {
      if (shown && tty) process.stderr.write('\n');
    },
  };
}

/** Records per send, and bytes: a send is one or a few produce requests, acknowledged before the next. */
const BATCH_RECORDS = 1_000;
const BATCH_BYTES = 512 * 1024;

export const publishCommand: Command = {
  name: 'publish',
  summary: 'publish your own readings or weather (JSON lines or long CSV) onto the raw topics',
  usage,
  async run(argv) {
    const args = parsePublishArgs(argv);
    const env = loadEnv();
    const zones = args.metadata ? loadZones(args.metadata) : undefined;
    // A line that may still fit once parsed (an envelope escapes its value) is read; longer ones are not held.
    const lines = readLines(openInput(args.file), args.maxBytes * 2);
    const { first, rest } = await peek(lines);

    const topicName = physicalTopic(
      { prefix: env.EAIO_TOPIC_PREFIX },
      args.topic === 'raw' ? TOPICS.readingsRaw : TOPICS.weatherRaw,
    );
    const counts = new PublishCounts(topicName);
    const format =
      args.format ?? (first && 'text' in first && !first.text.trimStart().startsWith('{') ? 'csv' : 'jsonl');
    let map: LineMapper = (text) => mapJsonLine(text, args.topic, args.maxBytes);
    let body: AsyncIterable<InputLine> = (async function* () {
      if (first) yield first;
      yield* rest;
    })();
    if (format === 'csv' && first) {
      if (args.topic === 'weather')
        throw new UsageError(
          'CSV input is for meter readings; publish weather as JSON lines (or `eaio replay` a BDG2 folder)',
        );
      if (!('text' in first))
        throw new UsageError(`line ${first.line}: the CSV header is not readable text (${first.problem})`);
      const header = parseLongHeader(first.text);
      if ('error' in header) throw new UsageError(`line ${first.line}: ${header.error}`);
      if (header.ignored.length > 0) console.error(`note: column(s) not used: ${header.ignored.join(', ')}`);
      map = csvMapper(header, args, zones);
      body = rest;
    }

    await kafkaBrokerFromEnv(env, loggerFromEnv({ LOG_LEVEL: 'silent' })).probe();
    const producer = createCliProducer(env, 'publish');
    try {
      await producer.connect();
      await producer.ensureTopics([topicName]);
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw new ServiceUnreachableError('Kafka', env.KAFKA_BROKERS, kafkaRootReason(error), { cause: error });
    }

    const progress = progressPrinter(counts);
    let batch: ProduceRecord[] = [];
    let batchBytes = 0;
    let lastLine = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const sending = batch;
      batch = [];
      batchBytes = 0;
      try {
        await producer.send(sending);
      } catch (error) {
        counts.failed = sending.length;
        throw error;
      }
      counts.sent += sending.length;
    };
    try {
      for await (const line of body) {
        lastLine = line.line;
        counts.lines++;
        progress.tick();
        if (!('text' in line)) {
          if (line.problem === 'too_long')
            counts.refuse(line.line, 'too_large', `${line.bytes} bytes, the limit is ${args.maxBytes} (--max-bytes)`);
          else counts.refuse(line.line, 'not_json', 'not UTF-8 text');
          continue;
        }
        if (line.text.trim() === '') continue;
        const mapped = map(line.text);
        if (mapped === 'empty') {
          counts.emptyValues++;
          continue;
        }
        if ('refused' in mapped) {
          counts.refuse(line.line, mapped.refused.reason, mapped.refused.detail);
          continue;
        }
        batch.push({ topic: topicName, ...mapped.record });
        batchBytes += mapped.record.value.length;
        if (batch.length >= BATCH_RECORDS || batchBytes >= BATCH_BYTES) await flush();
      }
      await flush();
    } catch (error) {
      progress.done();
      if (counts.failed === 0) throw error;
      console.error(
        `eaio publish: sending failed near line ${lastLine} after ${counts.sent} sent: ${kafkaRootReason(error)}; lines after it were not read`,
      );
      console.log(counts.summary());
      return 1;
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    progress.done();
    if (counts.unlisted() > 0) console.error(`… and ${counts.unlisted()} more refused line(s), not listed`);
    console.log(counts.summary());
    return 0;
  },
};
