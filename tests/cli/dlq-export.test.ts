import { describe, expect, it } from 'vitest';
import { exportLine } from '../../cli/dlq-export.js';
import { buildDeadLetter } from '../../pipeline/dlq.js';
import type { RawRecord } from '../../pipeline/stage.js';

const reading = {
  schema_version: 1,
  meter_id: 'Panther_office_Karla:electricity',
  building_id: 'Panther_office_Karla',
  meter_type: 'electricity',
  time: '2017-03-12 03:00:00',
  value: 46.2,
  unit: 'kWh',
  source: 'bdg2:cleaned',
};

/** A dead letter as it lies in the DLQ topic: built by the runtime's own function, read back as a record. */
function deadLetter(value: Buffer | null, headers: Record<string, Buffer> = {}): RawRecord {
  const raw: RawRecord = {
    topic: 'eaio.readings.raw.v1',
    partition: 2,
    offset: '17',
    key: Buffer.from(reading.meter_id),
    value,
    headers,
    timestamp: 0,
  };
  const dl = buildDeadLetter(
    'validate',
    'eaio.dlq.validate.v1',
    raw,
    { code: 'timestamp_missing_offset', message: 'time has no UTC offset', attempts: 1 },
    new Date('2024-01-02T03:04:05.000Z'),
  );
  const stored: Record<string, Buffer> = {};
  for (const [name, v] of Object.entries(dl.headers ?? {})) stored[name] = Buffer.from(v);
  return { ...raw, topic: dl.topic, partition: 0, offset: '5', value: dl.value as Buffer | null, headers: stored };
}

describe('dlq export lines', () => {
  it('are exactly {value, headers}: the payload as JSON and every header as text, provenance included', () => {
    const line = exportLine(deadLetter(Buffer.from(JSON.stringify(reading)), { traceparent: Buffer.from('00-ab') }));
    expect(line).toEqual({
      value: reading,
      headers: {
        traceparent: '00-ab',
        'x-dlq-stage': 'validate',
        'x-dlq-code': 'timestamp_missing_offset',
        'x-dlq-message': 'time has no UTC offset',
        'x-dlq-source-topic': 'eaio.readings.raw.v1',
        'x-dlq-source-partition': '2',
        'x-dlq-source-offset': '17',
        'x-dlq-attempts': '1',
        'x-dlq-failed-at': '2024-01-02T03:04:05.000Z',
      },
    });
    expect(Object.keys(line as object)).toEqual(['value', 'headers']);
  });

  it('keep a JSON value that is not an object (payload_not_object) as it is, to be edited', () => {
    expect(exportLine(deadLetter(Buffer.from('[1,2]')))).toMatchObject({ value: [1, 2] });
  });

  it('leave out payloads that are not UTF-8 JSON, and headers that are not text', () => {
    expect(exportLine(deadLetter(Buffer.from('2017-03-12,Panther_office_Karla,46.2')))).toBe('value_not_json');
    expect(exportLine(deadLetter(Buffer.from('{"value": 1')))).toBe('value_not_json');
    expect(exportLine(deadLetter(null))).toBe('value_not_json');
    expect(exportLine(deadLetter(Buffer.alloc(0)))).toBe('value_not_json');
    expect(exportLine(deadLetter(Buffer.from([0x7b, 0xff, 0x7d])))).toBe('value_not_json');
    expect(exportLine(deadLetter(Buffer.from('{}'), { bin: Buffer.from([0xc3, 0x28]) }))).toBe('header_not_utf8');
  });
});
