/**
 * Runtime overhead benchmark on the real broker. One input topic, three consumers of it in the
 * same run: raw kafkajs consume only, raw kafkajs consume → idempotent produce (the same work the
 * runtime does, hand-written), and the runtime running the passthrough stage. Reports records/s
 * and p50/p99 batch latency; the ratio runtime / raw consume+produce is the runtime's overhead.
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import type { Broker, ConsumerHandlers, ConsumerPort } from '../pipeline/index.js';
import { bytesCodec, createRegistry, kafkaBrokerFromEnv, ok, type Stage, StageRunner } from '../pipeline/index.js';
import { createPassthroughStage, passthroughTopics } from '../stages/passthrough/stage.js';

export interface BenchOptions {
  readonly brokers: string[];
  readonly records: number;
  readonly partitions: number;
  readonly valueBytes: number;
  /** Kafka clients the runtime runs are measured with (KAFKA_CLIENT), each in the same run. */
  readonly clients?: readonly RuntimeClient[];
}

export type RuntimeClient = 'kafkajs' | 'platformatic';

/** A runtime figure's name: kafkajs keeps the plain name earlier runs and scripts know. */
const runtimeName = (name: string, client: RuntimeClient) => (client === 'kafkajs' ? name : `${name} [${client}]`);

export interface BenchFigure {
  readonly name: string;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

function figure(name: string, records: number, startedAt: number, endedAt: number, latencies: number[]): BenchFigure {
  const seconds = (endedAt - startedAt) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    name,
    records,
    seconds,
    recordsPerSecond: records / seconds,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
  };
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('benchmark timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Times every batch handler call of the runtime's consumer (same span the raw loop measures). */
/** Clocks start at the first batch, so group joins and topic creation are not measured. */
interface Clock {
  firstBatchAt?: number;
}

function timedBroker(broker: Broker, latencies: number[], clock: Clock): Broker {
  return {
    ...broker,
    admin: () => broker.admin(),
    producer: () => broker.producer(),
    readTopic: (t) => broker.readTopic(t),
    consumer(options): ConsumerPort {
      const inner = broker.consumer(options);
      // Every method runs on the adapter itself (a prototype wrapper would let connect() set its
      // state on the wrapper, out of the adapter's sight).
      return {
        connect: () => inner.connect(),
        subscribe: (topics) => inner.subscribe(topics),
        pause: (tp) => inner.pause(tp),
        resume: (tp) => inner.resume(tp),
        seek: (offset) => inner.seek(offset),
        commit: (offsets) => inner.commit(offsets),
        stop: (beforeLeave) => inner.stop(beforeLeave),
        disconnect: () => inner.disconnect(),
        run: (handlers: ConsumerHandlers) =>
          inner.run({
            ...handlers,
            onBatch: async (batch) => {
              clock.firstBatchAt ??= Date.now();
              const t0 = performance.now();
              await handlers.onBatch(batch);
              latencies.push(performance.now() - t0);
            },
          }),
      };
    },
  };
}

export async function runRuntimeBench(options: BenchOptions): Promise<BenchFigure[]> {
  const log = pino({ level: 'warn' });
  const prefix = `bench${randomUUID().slice(0, 8)}`;
  const inTopic = `${prefix}.${passthroughTopics.input}`;
  const kafka = new kafkajs.Kafka({
    clientId: 'eaio-bench',
    brokers: options.brokers,
    logLevel: kafkajs.logLevel.ERROR,
  });
  const admin = kafka.admin();
  await admin.connect();
  const topics = [inTopic, `${prefix}.raw.out.v1`];
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.map((topic) => ({ topic, numPartitions: options.partitions })),
  });
  const outCount = async (topic: string) =>
    (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);

  // Load the input.
  const loader = kafka.producer({ allowAutoTopicCreation: false });
  await loader.connect();
  const value = Buffer.alloc(options.valueBytes, 'x');
  for (let sent = 0; sent < options.records; sent += 5_000) {
    const n = Math.min(5_000, options.records - sent);
    await loader.send({
      topic: inTopic,
      acks: 1,
      messages: Array.from({ length: n }, (_, i) => ({ key: `m${(sent + i) % 1000}`, value })),
    });
  }
  await loader.disconnect();

  const figures: BenchFigure[] = [];

  // 1. Raw kafkajs, consume only.
  {
    const consumer = kafka.consumer({ groupId: `${prefix}.raw-consume` });
    await consumer.connect();
    await consumer.subscribe({ topics: [inTopic], fromBeginning: true });
    let seen = 0;
    const latencies: number[] = [];
    const clock: Clock = {};
    await consumer.run({
      partitionsConsumedConcurrently: options.partitions,
      eachBatch: async ({ batch }) => {
        clock.firstBatchAt ??= Date.now();
        const t0 = performance.now();
        seen += batch.messages.length;
        latencies.push(performance.now() - t0);
      },
    });
    await waitFor(() => seen >= options.records, 300_000);
    figures.push(figure('raw kafkajs consume', seen, clock.firstBatchAt ?? 0, Date.now(), latencies));
    await consumer.disconnect();
  }

  // Each client's runs are stages of their own names, hence groups of their own reading from the start.
  for (const [round, client] of (options.clients ?? ['kafkajs']).entries()) {
    const own = (name: string) => (client === 'kafkajs' ? name : `${name}_${client}`);
    // 2. Runtime: passthrough stage (decode, process, idempotent acks=all produce, watermark commit).
    {
      const latencies: number[] = [];
      const clock: Clock = {};
      const broker = timedBroker(
        kafkaBrokerFromEnv(
          { KAFKA_BROKERS: options.brokers.join(','), KAFKA_CLIENT_ID: 'eaio-bench', KAFKA_CLIENT: client },
          log,
        ),
        latencies,
        clock,
      );
      const runner = new StageRunner(
        { ...createPassthroughStage(), name: own('passthrough') },
        { broker, log, registry: createRegistry() },
        { naming: { prefix }, topicPartitions: options.partitions },
      );
      const outTopic = `${prefix}.${passthroughTopics.output}`;
      await runner.start();
      // Every client's passthrough writes the same output topic: this one's share comes on top.
      await waitFor(async () => (await outCount(outTopic)) >= options.records * (round + 1), 300_000);
      const endedAt = Date.now();
      await runner.stop();
      figures.push(
        figure(
          runtimeName('eaio runtime passthrough', client),
          options.records,
          clock.firstBatchAt ?? 0,
          endedAt,
          latencies,
        ),
      );
    }

    // 2b. Runtime with a sink stage that produces nothing: the runtime's own cost (decode, results,
    // watermark commits, metrics) next to the raw consume-only loop above.
    {
      const latencies: number[] = [];
      const clock: Clock = {};
      let seen = 0;
      const sink: Stage<Buffer> = {
        name: own('bench_sink'),
        inputs: [passthroughTopics.input],
        input: bytesCodec,
        batch: { maxRecords: 1_000 },
        async process(batch) {
          seen += batch.length;
          return batch.map(() => ok());
        },
      };
      const broker = timedBroker(
        kafkaBrokerFromEnv(
          { KAFKA_BROKERS: options.brokers.join(','), KAFKA_CLIENT_ID: 'eaio-bench', KAFKA_CLIENT: client },
          log,
        ),
        latencies,
        clock,
      );
      const runner = new StageRunner(
        sink,
        { broker, log, registry: createRegistry() },
        { naming: { prefix }, topicPartitions: options.partitions },
      );
      await runner.start();
      await waitFor(() => seen >= options.records, 300_000);
      const endedAt = Date.now();
      await runner.stop();
      figures.push(
        figure(runtimeName('eaio runtime sink (no output)', client), seen, clock.firstBatchAt ?? 0, endedAt, latencies),
      );
    }
  }

  // 3. Raw kafkajs consume → produce with the runtime's producer settings, hand-written.
  {
    const consumer = kafka.consumer({ groupId: `${prefix}.raw-pipe` });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await Promise.all([consumer.connect(), producer.connect()]);
    await consumer.subscribe({ topics: [inTopic], fromBeginning: true });
    const latencies: number[] = [];
    const clock: Clock = {};
    await consumer.run({
      partitionsConsumedConcurrently: options.partitions,
      eachBatch: async ({ batch }) => {
        clock.firstBatchAt ??= Date.now();
        const t0 = performance.now();
        await producer.send({
          topic: `${prefix}.raw.out.v1`,
          acks: -1,
          messages: batch.messages.map((m) => ({ key: m.key, value: m.value })),
        });
        latencies.push(performance.now() - t0);
      },
    });
    await waitFor(async () => (await outCount(`${prefix}.raw.out.v1`)) >= options.records, 300_000);
    figures.push(
      figure('raw kafkajs consume+produce', options.records, clock.firstBatchAt ?? 0, Date.now(), latencies),
    );
    await Promise.all([consumer.disconnect(), producer.disconnect()]);
  }

  const all = await admin.listTopics();
  await admin.deleteTopics({ topics: all.filter((t) => t.startsWith(`${prefix}.`)) }).catch(() => undefined);
  await admin.disconnect();
  return figures;
}

const clientsBeyondKafkajs = (figures: readonly BenchFigure[]): RuntimeClient[] =>
  (['platformatic'] as const).filter((client) => figures.some((f) => f.name.endsWith(`[${client}]`)));

export function renderBench(figures: readonly BenchFigure[]): string {
  const rows = figures.map(
    (f) =>
      `${f.name.padEnd(30)} ${String(f.records).padStart(8)} rec  ${f.seconds.toFixed(2).padStart(7)} s  ${Math.round(f.recordsPerSecond).toString().padStart(8)} rec/s  p50 ${f.p50Ms.toFixed(1).padStart(7)} ms  p99 ${f.p99Ms.toFixed(1).padStart(7)} ms`,
  );
  const runtime = figures.find((f) => f.name === 'eaio runtime passthrough');
  const sink = figures.find((f) => f.name === 'eaio runtime sink (no output)');
  const pipe = figures.find((f) => f.name === 'raw kafkajs consume+produce');
  const consume = figures.find((f) => f.name === 'raw kafkajs consume');
  if (runtime && pipe)
    rows.push(
      `runtime / raw consume+produce: ${((100 * runtime.recordsPerSecond) / pipe.recordsPerSecond).toFixed(1)} %  (target ≥ 80 %)`,
    );
  if (sink && consume)
    rows.push(
      `runtime sink / raw consume only: ${((100 * sink.recordsPerSecond) / consume.recordsPerSecond).toFixed(1)} %  (consume-side overhead)`,
    );
  if (runtime && consume)
    rows.push(
      `runtime / raw consume only:    ${((100 * runtime.recordsPerSecond) / consume.recordsPerSecond).toFixed(1)} %  (the runtime also produces with acks=all)`,
    );
  for (const client of clientsBeyondKafkajs(figures)) {
    const passthrough = figures.find((f) => f.name === runtimeName('eaio runtime passthrough', client));
    if (passthrough && pipe)
      rows.push(
        `runtime [${client}] / raw kafkajs consume+produce: ${((100 * passthrough.recordsPerSecond) / pipe.recordsPerSecond).toFixed(1)} %`,
      );
  }
  const pct = (a?: BenchFigure, b?: BenchFigure) =>
    a && b ? ((100 * a.recordsPerSecond) / b.recordsPerSecond).toFixed(1) : 'nan';
  // The one `key=value` line a script reads.
  rows.push(
    [
      `records=${figures[0]?.records ?? 0}`,
      `passthrough_vs_raw_pipe_pct=${pct(runtime, pipe)}`,
      `sink_vs_raw_consume_pct=${pct(sink, consume)}`,
      `passthrough_per_s=${Math.round(runtime?.recordsPerSecond ?? 0)}`,
      `raw_pipe_per_s=${Math.round(pipe?.recordsPerSecond ?? 0)}`,
      ...clientsBeyondKafkajs(figures).flatMap((client) => {
        const passthrough = figures.find((f) => f.name === runtimeName('eaio runtime passthrough', client));
        const clientSink = figures.find((f) => f.name === runtimeName('eaio runtime sink (no output)', client));
        return [
          `passthrough_${client}_vs_raw_pipe_pct=${pct(passthrough, pipe)}`,
          `sink_${client}_vs_raw_consume_pct=${pct(clientSink, consume)}`,
          `passthrough_${client}_per_s=${Math.round(passthrough?.recordsPerSecond ?? 0)}`,
        ];
      }),
    ].join(' '),
  );
  return rows.join('\n');
}
