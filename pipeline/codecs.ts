/** Ready-made codecs. Decode failures become `invalid_payload` dead letters before `process`. */
import type { RuntimeDeadLetterCode } from './codes.js';
import { errorMessage } from './errors.js';
import type { Codec, DecodeResult, RawRecord } from './stage.js';

export const invalidPayload: RuntimeDeadLetterCode = 'invalid_payload';

/**
 * JSON codec with a validating parser (e.g. a zod schema's `parse`); a throw from `parse` or
 * malformed JSON is a decode failure. `eventTime` extracts event time for the lag histogram.
 */
export interface JsonCodecOptions {
  /** Codecs whose values this one accepts unchecked in memory (their type is a subtype of this one's). */
  readonly trusts?: readonly Codec<unknown>[];
}

export function jsonCodec<T>(
  parse: (value: unknown) => T,
  eventTime?: (value: T) => number | undefined,
  options: JsonCodecOptions = {},
): Codec<T> {
  const accept = (value: T): DecodeResult<T> => {
    const time = eventTime?.(value);
    return time === undefined ? { ok: true, value } : { ok: true, value, eventTime: time };
  };
  const check = (json: unknown): DecodeResult<T> => {
    try {
      return accept(parse(json));
    } catch (error) {
      return { ok: false, code: invalidPayload, message: errorMessage(error) };
    }
  };
  const codec: Codec<T> = {
    decode(raw: RawRecord): DecodeResult<T> {
      if (raw.value === null) return { ok: false, code: invalidPayload, message: 'empty value (tombstone)' };
      let json: unknown;
      try {
        json = JSON.parse(raw.value.toString('utf8'));
      } catch (error) {
        return { ok: false, code: invalidPayload, message: errorMessage(error) };
      }
      return check(json);
    },
    // A value typed for this codec (or a trusted one) by the stage that made it is taken as it is;
    // anything else is checked by the parser as decode would check it.
    adopt(value, _topic, from) {
      return from !== undefined && (from === codec || options.trusts?.includes(from))
        ? accept(value as T)
        : check(value);
    },
    encode(value: T): Buffer {
      return Buffer.from(JSON.stringify(value));
    },
  };
  return codec;
}

/** Passes bytes through untouched (benchmarks, mirroring). */
export const bytesCodec: Codec<Buffer> = {
  decode(raw) {
    return raw.value === null
      ? { ok: false, code: invalidPayload, message: 'empty value (tombstone)' }
      : { ok: true, value: raw.value };
  },
  encode(value) {
    return value;
  },
};

/** Dead-letter code of a record whose codec threw instead of returning a decode failure. */
export const decodeErrorCode: RuntimeDeadLetterCode = 'decode_error';

/** A codec that throws is a bug, but it must cost one dead letter, not the worker. */
export function decodeSafely<T>(codec: Codec<T>, raw: RawRecord): DecodeResult<T> {
  return guarded(() => codec.decode(raw));
}

/** `codec.adopt` (which the caller knows exists), with a throw turned into a decode failure. */
export function adoptSafely<T>(codec: Codec<T>, value: unknown, topic: string, from?: Codec<unknown>): DecodeResult<T> {
  return guarded(() => (codec.adopt as NonNullable<Codec<T>['adopt']>)(value, topic, from));
}

function guarded<T>(decode: () => DecodeResult<T>): DecodeResult<T> {
  try {
    return decode();
  } catch (error) {
    return { ok: false, code: decodeErrorCode, message: `codec threw: ${errorMessage(error)}` };
  }
}
