import { TOPICS } from '../../domain/topics.js';
import type { ProduceRecord, ProducerPort } from '../../pipeline/index.js';
import { physicalTopic } from '../../pipeline/index.js';
import type { ReplayHour } from './replay-events.js';

/**
 * Publishes replayed hours. Ordering guarantee: the weather of an hour is acknowledged by the broker
 * before any reading of that hour is sent. To keep round trips few, each send carries the readings of
 * one chunk of hours together with the weather of the NEXT chunk (which only has to precede readings
 * that come later); the very first send carries weather alone.
 *
 * Speed: `max` sends as fast as the broker acknowledges; a number N paces the replay at N simulated
 * hours per wall-clock second (e.g. 1 → a day of data in 24 s; 0.25 → one hour every 4 s), chunking
 * one hour at a time.
 */
export type Speed = number | 'max';

export interface PublishOptions {
  readonly topicPrefix: string;
  readonly speed: Speed;
  /** Most messages per send at max speed. */
  readonly maxBatch?: number;
  readonly onHourPublished?: (hour: ReplayHour) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export interface PublishCounts {
  readonly topic: string;
  count: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function publishHours(
  hours: AsyncIterable<ReplayHour>,
  producer: Pick<ProducerPort, 'send'>,
  options: PublishOptions,
): Promise<{ readings: PublishCounts; weather: PublishCounts }> {
  const readingsTopic = physicalTopic({ prefix: options.topicPrefix }, TOPICS.readingsRaw);
  const weatherTopic = physicalTopic({ prefix: options.topicPrefix }, TOPICS.weatherRaw);
  const counts = { readings: { topic: readingsTopic, count: 0 }, weather: { topic: weatherTopic, count: 0 } };
  const maxBatch = options.maxBatch ?? 5_000;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? (() => performance.now());
  const started = now();

  let carried: { records: ProduceRecord[]; hours: ReplayHour[] } = { records: [], hours: [] };
  let chunk: ReplayHour[] = [];
  let chunkSize = 0;
  let hoursDone = 0;

  const flush = async (): Promise<void> => {
    const weather: ProduceRecord[] = chunk.flatMap((h) =>
      h.weather.map((w) => ({ topic: weatherTopic, key: w.site_id, value: JSON.stringify(w) })),
    );
    const batch = [...carried.records, ...weather];
    if (batch.length > 0) await producer.send(batch);
    counts.readings.count += carried.records.length;
    counts.weather.count += weather.length;
    for (const h of carried.hours) options.onHourPublished?.(h);
    carried = {
      records: chunk.flatMap((h) =>
        h.readings.map((r) => ({ topic: readingsTopic, key: r.meter_id, value: JSON.stringify(r) })),
      ),
      hours: chunk,
    };
    chunk = [];
    chunkSize = 0;
  };

  for await (const hour of hours) {
    chunk.push(hour);
    chunkSize += hour.weather.length + hour.readings.length;
    if (options.speed === 'max') {
      if (chunkSize >= maxBatch) await flush();
      continue;
    }
    await flush();
    hoursDone++;
    // Pace by the schedule, not by fixed sleeps, so slow sends do not accumulate drift.
    const due = started + (hoursDone / options.speed) * 1000;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
  }
  await flush(); // readings of the last full chunk + weather of the partial one
  await flush(); // readings of the partial chunk
  return counts;
}
