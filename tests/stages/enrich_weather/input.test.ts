import { describe, expect, it } from 'vitest';
import type { RawRecord } from '../../../pipeline/index.js';
import { enrichInputCodec, isTopic } from '../../../stages/enrich_weather/input.js';
import { observation, reading } from './test-fixtures.js';

const raw = (topic: string, value: unknown): RawRecord => ({
  topic,
  partition: 0,
  offset: '0',
  key: null,
  value: Buffer.from(JSON.stringify(value)),
  headers: {},
  timestamp: 0,
});

describe('enrich_weather input codec', () => {
  it('recognises topics with or without the environment prefix, by whole name segments', () => {
    expect(isTopic('eaio.weather.raw.v1', 'weather.raw.v1')).toBe(true);
    expect(isTopic('weather.raw.v1', 'weather.raw.v1')).toBe(true);
    expect(isTopic('eaio.xweather.raw.v1', 'weather.raw.v1')).toBe(false);
  });

  it('decodes each topic with its own schema', () => {
    const weather = enrichInputCodec.decode(raw('eaio.weather.raw.v1', observation));
    const validated = enrichInputCodec.decode(raw('eaio.readings.validated.v1', reading));
    expect(weather.ok && weather.value.kind).toBe('weather');
    expect(validated.ok && validated.value.kind).toBe('reading');
    expect(validated.ok && validated.eventTime).toBe(Date.parse(reading.time));
  });

  it('rejects a reading sent to the weather topic and records of unknown topics', () => {
    const wrong = enrichInputCodec.decode(raw('eaio.weather.raw.v1', reading));
    expect(wrong.ok).toBe(false);
    const unknown = enrichInputCodec.decode(raw('eaio.other.v1', reading));
    expect(unknown).toMatchObject({ ok: false, code: 'unexpected_topic' });
  });
});
