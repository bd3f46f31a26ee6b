/**
 * Dead letters: the original key, value and headers plus provenance headers (Kafka Streams style),
 * so `eaio dlq replay` can send the original bytes back to their source topic unchanged.
 */
import type { ProduceRecord } from './broker.js';
import { FatalError } from './errors.js';
import type { RawRecord } from './stage.js';

export const dlqHeader = {
  stage: 'x-dlq-stage',
  code: 'x-dlq-code',
  message: 'x-dlq-message',
  sourceTopic: 'x-dlq-source-topic',
  sourcePartition: 'x-dlq-source-partition',
  sourceOffset: 'x-dlq-source-offset',
  attempts: 'x-dlq-attempts',
  failedAt: 'x-dlq-failed-at',
} as const;

/** Error messages can be long stack-ish strings; headers should stay small. */
const maxMessageLength = 1_000;

export interface DeadLetterCause {
  readonly code: string;
  readonly message: string;
  readonly attempts: number;
}

export function buildDeadLetter(
  stage: string,
  dlqTopic: string,
  raw: RawRecord,
  cause: DeadLetterCause,
  now: Date = new Date(),
): ProduceRecord {
  const headers: Record<string, Buffer | string> = {};
  for (const [name, value] of Object.entries(raw.headers)) {
    // A dead letter of a replayed dead letter must describe the latest failure only.
    if (value !== undefined && !name.startsWith('x-dlq-')) headers[name] = value;
  }
  headers[dlqHeader.stage] = stage;
  headers[dlqHeader.code] = cause.code;
  headers[dlqHeader.message] = cause.message.slice(0, maxMessageLength);
  headers[dlqHeader.sourceTopic] = raw.topic;
  headers[dlqHeader.sourcePartition] = String(raw.partition);
  headers[dlqHeader.sourceOffset] = raw.offset;
  headers[dlqHeader.attempts] = String(cause.attempts);
  headers[dlqHeader.failedAt] = now.toISOString();
  return { topic: dlqTopic, key: raw.key, value: raw.value, headers };
}

export interface DeadLetterView {
  readonly stage: string;
  readonly code: string;
  readonly message: string;
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  readonly sourceOffset: string;
  readonly attempts: number;
  readonly failedAt: string;
  readonly dlqPartition: number;
  readonly dlqOffset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export function readDeadLetter(raw: RawRecord): DeadLetterView {
  const header = (name: string): string => raw.headers[name]?.toString('utf8') ?? '';
  return {
    stage: header(dlqHeader.stage),
    code: header(dlqHeader.code),
    message: header(dlqHeader.message),
    sourceTopic: header(dlqHeader.sourceTopic),
    sourcePartition: Number(header(dlqHeader.sourcePartition)),
    sourceOffset: header(dlqHeader.sourceOffset),
    attempts: Number(header(dlqHeader.attempts)),
    failedAt: header(dlqHeader.failedAt),
    dlqPartition: raw.partition,
    dlqOffset: raw.offset,
    key: raw.key,
    value: raw.value,
  };
}

/** The record `replay` sends back: original bytes and headers, marked as replayed. */
export function buildReplay(raw: RawRecord, now: Date = new Date()): ProduceRecord {
  const view = readDeadLetter(raw);
  const headers: Record<string, Buffer | string> = {};
  for (const [name, value] of Object.entries(raw.headers)) {
    if (value !== undefined && !name.startsWith('x-dlq-')) headers[name] = value;
  }
  headers['x-dlq-replayed-at'] = now.toISOString();
  return { topic: view.sourceTopic, key: raw.key, value: raw.value, headers };
}

export interface DlqGuardLimits {
  /** Dead letters in a row (no good record between them) that stop the worker. */
  readonly maxConsecutive: number;
  /** Share of dead letters among the last `window` records that stops the worker… */
  readonly maxRatio: number;
  readonly window: number;
  /** …once at least this many records are in the window (no verdict on tiny samples). */
  readonly minRecords: number;
}

export const defaultDlqGuardLimits: DlqGuardLimits = {
  maxConsecutive: 1_000,
  maxRatio: 0.5,
  window: 10_000,
  minRecords: 1_000,
};

export class DlqGuardTripped extends FatalError {
  constructor(message: string) {
    super(message, 'dlq_guard');
    this.name = 'DlqGuardTripped';
  }
}

/**
 * Arroyo's lesson: after a bad deploy every record fails, and a DLQ without limits quietly
 * swallows the whole topic. The guard turns a flood of dead letters into a fatal stop instead.
 */
export class DlqGuard {
  private consecutive = 0;
  /** Ring buffer of the last `window` outcomes (true = dead-lettered). */
  private readonly ring: boolean[] = [];
  private next = 0;
  private deadInWindow = 0;

  constructor(private readonly limits: DlqGuardLimits = defaultDlqGuardLimits) {}

  /** Records outcomes in order; throws `DlqGuardTripped` when a limit is crossed. */
  observe(outcomes: readonly boolean[]): void {
    for (const dead of outcomes) {
      this.consecutive = dead ? this.consecutive + 1 : 0;
      if (this.ring.length < this.limits.window) {
        this.ring.push(dead);
      } else {
        if (this.ring[this.next]) this.deadInWindow -= 1;
        this.ring[this.next] = dead;
        this.next = (this.next + 1) % this.limits.window;
      }
      if (dead) this.deadInWindow += 1;
      if (this.consecutive >= this.limits.maxConsecutive) {
        throw new DlqGuardTripped(`${this.consecutive} consecutive dead letters (limit ${this.limits.maxConsecutive})`);
      }
      const seen = this.ring.length;
      if (seen >= this.limits.minRecords && this.deadInWindow / seen > this.limits.maxRatio) {
        throw new DlqGuardTripped(
          `${this.deadInWindow} of the last ${seen} records dead-lettered (limit ratio ${this.limits.maxRatio})`,
        );
      }
    }
  }
}
