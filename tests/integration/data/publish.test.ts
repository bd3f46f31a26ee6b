import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../../config/load.js';
import { deleteTopics } from '../e2e/pipeline-processes.js';
import { runEaio, STACK_FRAME } from '../resilience/eaio-process.js';

const prefix = `eaio-test-publish-${randomBytes(4).toString('hex')}`;
const env = loadEnv();
const kafka = new kafkajs.Kafka({
  clientId: 'eaio-test',
  brokers: env.KAFKA_BROKERS.split(','),
  logLevel: kafkajs.logLevel.NOTHING,
});
const dir = mkdtempSync(join(tmpdir(), 'eaio-publish-'));

afterAll(async () => {
  await deleteTopics(prefix).catch(() => undefined);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/eaio.mjs publish ...` with `input` on its standard input. */
function publishStdin(args: readonly string[], input: string): Promise<Run> {
  const child = spawn(process.execPath, ['bin/eaio.mjs', 'publish', ...args], {
    env: { ...process.env, EAIO_TOPIC_PREFIX: prefix },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  child.stdin.end(input);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

interface Received {
  key: string;
  partition: number;
  offset: number;
  value: string;
  headers: Record<string, string>;
}

async function readTopic(topic: string, expected: number): Promise<Received[]> {
  const consumer = kafka.consumer({ groupId: `${topic}.reader-${randomBytes(3).toString('hex')}` });
  const out: Received[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${topic}: got ${out.length} of ${expected} in 30 s`)), 30_000);
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [name, v] of Object.entries(m.headers ?? {})) headers[name] = String(v);
          out.push({
            key: String(m.key),
            partition: batch.partition,
            offset: Number(m.offset),
            value: String(m.value),
            headers,
          });
        }
        if (out.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  // Nothing beyond what was expected arrives.
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  return out;
}

async function partitionCount(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]?.partitions.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/** Where kafkajs's Java-compatible default partitioner puts a key: the pipeline's partitioning, computed independently. */
function javaPartition(key: string, partitions: number): number {
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
    partitionId: i,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return partitioner({ topic: 't', partitionMetadata, message: { key: Buffer.from(key), value: null } });
}

const reading = (building: string, hour: number, value: number) =>
  JSON.stringify({
    schema_version: 1,
    meter_id: `${building}:electricity`,
    building_id: building,
    meter_type: 'electricity',
    time: `2017-03-12T${String(hour).padStart(2, '0')}:00:00Z`,
    value,
    unit: 'kWh',
    source: 'test:publish',
  });

describe('eaio publish on the real broker', () => {
  it("sends the good lines keyed by meter, refuses the rest by reason, keeps an envelope's headers", async () => {
    const correction = JSON.parse(reading('Panther_office_Karla', 7, 47)) as object;
    const provenance = { 'x-dlq-code': 'value_above_ceiling', 'x-dlq-source-offset': '17' };
    const lines = [
      reading('Panther_office_Karla', 7, 46.2), // 1
      reading('Panther_office_Hannah', 7, 3.5), // 2
      'not json', // 3
      '[1, 2]', // 4
      JSON.stringify({ schema_version: 1, site_id: 'Panther', time: '2017-03-12T07:00:00Z' }), // 5
      JSON.stringify({ value: correction, headers: provenance }), // 6
      JSON.stringify({ meter_id: 'Panther_office_Karla:electricity', pad: 'x'.repeat(3000) }), // 7
      '', // 8
      reading('Rat_office_Lora', 8, 120), // 9
    ];
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);

    const result = await runEaio(['publish', '--max-bytes', '2048', file], { EAIO_TOPIC_PREFIX: prefix });
    const topic = `${prefix}.readings.raw.v1`;
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `sent=4 refused=4 refused_not_json=1 refused_not_an_object=1 refused_missing_key=1 refused_too_large=1 topic=${topic}\n`,
    );
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^line 3: refused \(not_json\): /),
      'line 4: refused (not_an_object): the line is an array',
      'line 5: refused (missing_key): no meter_id (it has site_id: publish it with --topic weather)',
      expect.stringMatching(/^line 7: refused \(too_large\): 3\d{3} bytes, the limit is 2048/),
    ]);

    const got = await readTopic(topic, 4);
    expect(got).toHaveLength(4);
    const partitions = await partitionCount(topic);
    expect(partitions).toBe(env.EAIO_TOPIC_PARTITIONS);
    for (const m of got) {
      expect(m.key).toBe((JSON.parse(m.value) as { meter_id: string }).meter_id);
      expect(m.partition, m.key).toBe(javaPartition(m.key, partitions));
    }
    const karla = got.filter((m) => m.key === 'Panther_office_Karla:electricity').sort((a, b) => a.offset - b.offset);
    expect(karla.map((m) => m.value)).toEqual([lines[0], JSON.stringify(correction)]);
    expect(karla.map((m) => m.headers)).toEqual([{}, provenance]);
    expect(got.map((m) => m.value).sort()).toEqual([lines[0], lines[1], lines[8], JSON.stringify(correction)].sort());
  });

  it('reads standard input ("-"): long CSV with BDG2 local times, converted with the metadata file', async () => {
    const csv = [
      'timestamp,meter_id,value',
      '2017-01-01 00:00:00,Panther_office_Karla:electricity,12.5',
      '2017-01-01 01:00:00,Panther_office_Karla:electricity,',
      '2017-03-12 02:00:00,Panther_office_Karla:electricity,1',
      '2017-07-01 00:00:00,Panther_office_Karla:electricity,13',
    ].join('\r\n');
    const run = await publishStdin(['--bdg2-metadata', 'data/bdg2-sample/metadata.csv', '-'], csv);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `sent=2 refused=1 refused_nonexistent_local_time=1 empty_values=1 topic=${prefix}.readings.raw.v1\n`,
    );
    expect(run.stderr).toContain('line 4: refused (nonexistent_local_time)');
    // Two more on the topic of the first test: 6 in all; these are the CSV's, EST and EDT.
    const got = await readTopic(`${prefix}.readings.raw.v1`, 6);
    const fromCsv = got
      .map((m) => JSON.parse(m.value) as { source: string; time: string; site_id: string; unit: string })
      .filter((v) => v.source === 'csv:stdin');
    expect(fromCsv.map((v) => [v.time, v.site_id, v.unit])).toEqual([
      ['2017-01-01T05:00:00.000Z', 'Panther', 'kWh'],
      ['2017-07-01T04:00:00.000Z', 'Panther', 'kWh'],
    ]);
  });

  it('--topic weather keys observations by site', async () => {
    const obs = (site: string, hour: number) =>
      JSON.stringify({ schema_version: 1, site_id: site, time: `2017-03-12T0${hour}:00:00Z`, air_temperature: hour });
    const run = await publishStdin(
      ['--topic', 'weather'],
      [obs('Panther', 1), obs('Rat', 1), obs('Panther', 2)].join('\n'),
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`sent=3 refused=0 topic=${prefix}.weather.raw.v1\n`);
    const got = await readTopic(`${prefix}.weather.raw.v1`, 3);
    const partitions = await partitionCount(`${prefix}.weather.raw.v1`);
    expect(got.map((m) => m.key).sort()).toEqual(['Panther', 'Panther', 'Rat']);
    for (const m of got) expect(m.partition).toBe(javaPartition(m.key, partitions));
  });

  it('Kafka unreachable: one line with the fix, exit 1, nothing on stdout', async () => {
    const file = join(dir, 'one.jsonl');
    writeFileSync(file, `${reading('Panther_office_Karla', 7, 1)}\n`);
    const result = await runEaio(['publish', file], { KAFKA_BROKERS: '127.0.0.1:1', EAIO_TOPIC_PREFIX: prefix });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      "eaio publish: cannot reach Kafka at 127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1). Start the local stack with 'npx eaio services up' or set KAFKA_BROKERS.",
    ]);
    expect(result.stdout).toBe('');
  });
});
