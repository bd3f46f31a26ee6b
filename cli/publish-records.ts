/**
 * What `eaio publish` sends for one input line, or why it refuses it. Only what cannot be sent or
 * keyed is refused here; whether a reading is right (its schema, units, bounds, times) is the
 * validate stage's judgement, made once, in one place, with a dead-letter code and its fix.
 */
export const REFUSAL_REASONS = [
  'not_json',
  'not_an_object',
  'bad_headers',
  'missing_key',
  'too_large',
  'bad_csv_row',
  'not_a_number',
  'no_time_zone',
  'nonexistent_local_time',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface Refusal {
  readonly reason: RefusalReason;
  readonly detail: string;
}

export interface Outgoing {
  readonly key: string;
  readonly value: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Mapped = { readonly record: Outgoing } | { readonly refused: Refusal };

export type PublishTopic = 'raw' | 'weather';

/** The field the pipeline keys each topic by: one meter's (one site's) messages stay in order on one partition. */
export const KEY_FIELD: Record<PublishTopic, 'meter_id' | 'site_id'> = { raw: 'meter_id', weather: 'site_id' };

/** The broker's default message.max.bytes is 1 MiB (1 048 588 bytes per batch); a record at this size fits. */
export const DEFAULT_MAX_BYTES = 1_000_000;

const refuse = (reason: RefusalReason, detail: string): Mapped => ({ refused: { reason, detail } });

export function recordBytes(record: Outgoing): number {
  let bytes = Buffer.byteLength(record.key) + Buffer.byteLength(record.value);
  for (const [name, value] of Object.entries(record.headers ?? {}))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

/**
 * `{"value": <payload>, "headers": {...}}` and nothing else: a payload with its Kafka headers, the
 * way corrected dead letters go back with their provenance (`x-dlq-*`). The payload may also be
 * given as JSON text. No message of the pipeline has exactly these two fields.
 */
function isEnvelope(obj: Record<string, unknown>): boolean {
  const keys = Object.keys(obj);
  return keys.length === 2 && 'value' in obj && 'headers' in obj;
}

/** Keys a payload object and checks its size; `text` is what is sent as the value. */
export function keyed(
  payload: Record<string, unknown>,
  text: string,
  topic: PublishTopic,
  maxBytes: number,
  headers?: Record<string, string>,
): Mapped {
  const field = KEY_FIELD[topic];
  const key = payload[field];
  if (typeof key !== 'string' || key === '') {
    const other = KEY_FIELD[topic === 'raw' ? 'weather' : 'raw'];
    const hint =
      typeof payload[other] === 'string'
        ? ` (it has ${other}: publish it with --topic ${topic === 'raw' ? 'weather' : 'raw'})`
        : '';
    return refuse(
      'missing_key',
      `${key === undefined ? `no ${field}` : `${field} is ${kindOf(key)}, not a text`}${hint}`,
    );
  }
  const record: Outgoing = headers ? { key, value: text, headers } : { key, value: text };
  const bytes = recordBytes(record);
  if (bytes > maxBytes) return refuse('too_large', `${bytes} bytes, the limit is ${maxBytes} (--max-bytes)`);
  return { record };
}

function parse(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: (error as Error).message.slice(0, 120) };
  }
}

/** One JSON line: a message as documented in docs/messages.md, or an envelope with its headers. */
export function mapJsonLine(text: string, topic: PublishTopic, maxBytes: number): Mapped {
  const trimmed = text.trim();
  const parsed = parse(trimmed);
  if ('error' in parsed) return refuse('not_json', parsed.error);
  const obj = parsed.value;
  if (!isPlainObject(obj)) return refuse('not_an_object', `the line is ${kindOf(obj)}`);
  if (!isEnvelope(obj)) return keyed(obj, trimmed, topic, maxBytes);

  const headers = obj.headers;
  if (!isPlainObject(headers)) return refuse('bad_headers', `headers is ${kindOf(headers)}, not an object`);
  const notText = Object.entries(headers).find(([, v]) => typeof v !== 'string');
  if (notText) return refuse('bad_headers', `header ${notText[0]} is ${kindOf(notText[1])}, not a text`);

  let payload = obj.value;
  if (typeof payload === 'string') {
    const inner = parse(payload);
    if ('error' in inner) return refuse('not_json', `value: ${inner.error}`);
    payload = inner.value;
  }
  if (!isPlainObject(payload)) return refuse('not_an_object', `value is ${kindOf(payload)}`);
  return keyed(payload, JSON.stringify(payload), topic, maxBytes, headers as Record<string, string>);
}
