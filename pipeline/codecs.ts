/** Ready-made codecs. Decode failures become `invalid_payload` dead letters before `process`. */
import { errorMessage } from './errors.js';
import type { Codec, DecodeResult, RawRecord } from './stage.js';

export const invalidPayload = 'invalid_payload';

/**
 * JSON codec with a validating parser (e.g. a zod schema's `parse`); a throw from `parse` or
 * malformed JSON is a decode failure. `eventTime` extracts event time for the lag histogram.
 */
export function jsonCodec<T>(parse: (value: unknown) => T, eventTime?: (value: T) => number | undefined): Codec<T> {
  const adopt = (json: unknown): DecodeResult<T> => {
    try {
      const value = parse(json);
      const time = eventTime?.(value);
      return time === undefined ? { ok: true, value } : { ok: true, value, eventTime: time };
    } catch (error) {
      return { ok: false, code: invalidPayload, message: errorMessage(error) };
    }
  };
  return {
    decode(raw: RawRecord): DecodeResult<T> {
      if (raw.value === null) return { ok: false, code: invalidPayload, message: 'empty value (tombstone)' };
      let json: unknown;
      try {
        json = JSON.parse(raw.value.toString('utf8'));
      } catch (error) {
        return { ok: false, code: invalidPayload, message: errorMessage(error) };
      }
      return adopt(json);
    },
    // The parser (a schema) checks the value as decode would; JSON's own rewrites (undefined
    // fields dropped, non-finite numbers to null) are the parser's business on both paths.
    adopt,
    encode(value: T): Buffer {
      return Buffer.from(JSON.stringify(value));
    },
  };
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
