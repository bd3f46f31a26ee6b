/**
 * Waiting for write_hypertable before a rebuild. score_anomaly rebuilds a partition's history from
 * `meter_readings`, which write_hypertable fills from `readings.scored.v1` in a consumer group of
 * its own: what this stage scored just before a restart or rebalance may not be stored yet, and a
 * history rebuilt then would lack it. So a partition whose meters' scored readings the writer has
 * not all stored at the assignment is built later: its first batch is deferred
 * (`history_not_stored`) until the writer's stored offsets (`stage_offsets`) reach the scored
 * topic's end offsets as they were at the assignment, for at most EAIO_SCORE_ANOMALY_REBUILD_WAIT_MS;
 * then it is built from what is stored, with one warning. Chained with the writer
 * (`…+score_anomaly+write_hypertable`) the rows and offsets commit together: nothing to wait for.
 * The wait never stops scoring: a lookup that fails is logged and waits for nothing.
 */
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { TOPICS } from '../../domain/topics.js';
import {
  type AdminPort,
  chainStepNames,
  consumerGroup,
  kafkaBrokerFromEnv,
  physicalTopic,
  type TopicNaming,
  type TopicPartition,
} from '../../pipeline/index.js';

/** The stage that stores the scored readings the history is rebuilt from. */
const WRITER = 'write_hypertable';

/** How often a waiting partition looks at the writer's progress again. */
export const RECHECK_MS = 500;
/**
 * Longest look at the writer's progress during an assignment: kafkajs sends no heartbeat while the
 * assignment hook runs, so a slow answer is taken as none (nothing to wait for).
 */
export const LOOKUP_TIMEOUT_MS = 3_000;

/** `promise`, or a rejection after `ms`. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where the writer's progress is read. */
export interface WriterProgress {
  /** Next offset (end) of each partition of the scored topic; empty when the topic does not exist. */
  ends(): Promise<ReadonlyMap<number, bigint>>;
  /** Next offset the writer stored for each partition of the scored topic; absent when it stored none. */
  stored(): Promise<ReadonlyMap<number, bigint>>;
  close(): Promise<void>;
}

/** The writer this stage waits for. */
export interface WriterLocation {
  /** write_hypertable's consumer group: the key of its rows in `stage_offsets`. */
  readonly group: string;
  /** The scored topic, physical name. */
  readonly topic: string;
  /** A Kafka admin client for the scored topic's end offsets, connected on first use. */
  admin(log: Logger): AdminPort;
}

/**
 * The writer to wait for, from how the stage is run: none when it is chained with it. The offsets
 * group of a stage or chain is `consumerGroup(naming, name)` with `name` = `a+b+c`
 * (stages/registry.ts), so the chain's steps are read back from it; the writer alone runs in
 * `consumerGroup(naming, 'write_hypertable')`, as `eaio run write_hypertable` starts it.
 */
export function writerToWaitFor(
  naming: TopicNaming,
  offsetsGroup: string,
  env: Parameters<typeof kafkaBrokerFromEnv>[0],
): WriterLocation | undefined {
  const base = consumerGroup(naming, '');
  const steps = offsetsGroup.startsWith(base) ? chainStepNames(offsetsGroup.slice(base.length)) : [];
  if (steps.includes(WRITER)) return undefined;
  return {
    group: consumerGroup(naming, WRITER),
    topic: physicalTopic(naming, TOPICS.readingsScored),
    admin: (log) => kafkaBrokerFromEnv(env, log).admin(),
  };
}

/** The scored topic's end offsets from Kafka, the writer's stored offsets from PostgreSQL. */
export function writerProgress(sql: Sql, where: WriterLocation, log: Logger): WriterProgress {
  let admin: AdminPort | undefined;
  let connected = false;
  return {
    async ends() {
      admin ??= where.admin(log);
      if (!connected) {
        try {
          await admin.connect();
        } catch (error) {
          // A failed connect may leave a client behind (platformatic creates one per connect).
          await admin.disconnect().catch(() => undefined);
          admin = undefined;
          throw error;
        }
        connected = true;
      }
      if (!(await admin.listTopics()).includes(where.topic)) return new Map();
      return new Map((await admin.topicOffsets(where.topic)).map((o) => [o.partition, BigInt(o.high)]));
    },
    async stored() {
      const rows = await sql<{ partition: number; next_offset: string }[]>`
        SELECT partition, next_offset::text AS next_offset FROM stage_offsets
         WHERE consumer_group = ${where.group} AND topic = ${where.topic}`;
      return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
    },
    async close() {
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
      connected = false;
    },
  };
}

interface Wait {
  /** The assigned partitions of this number (a chain's inputs share numbers) to build once ready. */
  readonly partitions: TopicPartition[];
  /** Scored partition → the end offset the writer must reach. */
  readonly targets: ReadonlyMap<number, bigint>;
  readonly since: number;
  warned: boolean;
}

export type Readiness =
  /** Not waiting: built at the assignment. */
  | undefined
  | { readonly kind: 'wait'; readonly delayMs: number }
  /** Build these now (then call `built`). */
  | { readonly kind: 'build'; readonly partitions: readonly TopicPartition[] };

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The partitions (by number) waiting for the writer since their assignment. */
export class WriterCatchUp {
  private readonly waits = new Map<number, Wait>();

  constructor(
    private readonly progress: WriterProgress,
    readonly waitMs: number,
    /**
     * Scored partitions holding partition `p`'s meters when the scored topic has `count` partitions:
     * `p` itself when both topics have as many partitions (as the runner creates them).
     */
    private readonly scoredPartitionsOf: (p: number, count: number) => readonly number[],
    private readonly now: () => number = Date.now,
    private readonly lookupTimeoutMs = LOOKUP_TIMEOUT_MS,
  ) {}

  /** At assignment: the partitions to build now; the others wait for the writer. */
  async hold(partitions: readonly TopicPartition[], log: Logger): Promise<TopicPartition[]> {
    const fresh = partitions.filter((tp) => {
      const wait = this.waits.get(tp.partition);
      if (wait && !wait.partitions.some((w) => w.topic === tp.topic)) wait.partitions.push(tp);
      return wait === undefined;
    });
    if (fresh.length === 0) return [];
    let ends: ReadonlyMap<number, bigint>;
    let stored: ReadonlyMap<number, bigint>;
    try {
      ends = await within(this.lookupTimeoutMs, this.progress.ends());
      if (ends.size === 0) return fresh;
      stored = await within(this.lookupTimeoutMs, this.progress.stored());
    } catch (error) {
      log.warn(
        { err: errorText(error) },
        'cannot tell whether write_hypertable has stored the readings scored before this assignment; rebuilding from what is stored',
      );
      return fresh;
    }
    const now = [];
    for (const tp of fresh) {
      const known = this.waits.get(tp.partition);
      if (known) {
        known.partitions.push(tp);
        continue;
      }
      const targets = new Map<number, bigint>();
      for (const q of this.scoredPartitionsOf(tp.partition, ends.size)) {
        const end = ends.get(q) ?? 0n;
        if (end > (stored.get(q) ?? 0n)) targets.set(q, end);
      }
      if (targets.size === 0) {
        now.push(tp);
        continue;
      }
      this.waits.set(tp.partition, { partitions: [tp], targets, since: this.now(), warned: false });
      log.info(
        { partition: tp.partition, behind: behind(targets, stored).toString() },
        'write_hypertable has not stored all readings scored before this assignment: the rebuild waits for it',
      );
    }
    return now;
  }

  /** Before a batch of partition `p`: wait on, or build now. */
  async ready(p: number, log: Logger): Promise<Readiness> {
    const wait = this.waits.get(p);
    if (!wait) return undefined;
    const waited = this.now() - wait.since;
    let missing: bigint;
    try {
      missing = behind(wait.targets, await this.progress.stored());
    } catch (error) {
      if (!wait.warned)
        log.warn(
          { partition: p, err: errorText(error) },
          "cannot read write_hypertable's progress; rebuilding from what is stored",
        );
      wait.warned = true;
      return { kind: 'build', partitions: wait.partitions };
    }
    if (missing === 0n) {
      if (!wait.warned) log.info({ partition: p, waitedMs: waited }, 'write_hypertable caught up: rebuilding');
      return { kind: 'build', partitions: wait.partitions };
    }
    if (waited < this.waitMs) return { kind: 'wait', delayMs: Math.max(1, Math.min(RECHECK_MS, this.waitMs - waited)) };
    if (!wait.warned)
      log.warn(
        { partition: p, behind: missing.toString(), waitedMs: waited },
        `write_hypertable still has ${missing} scored readings to store after ${this.waitMs} ms (EAIO_SCORE_ANOMALY_REBUILD_WAIT_MS): rebuilding from what is stored, so this partition's next scores may miss their meters' newest history; check the writer's lag with eaio status`,
      );
    wait.warned = true;
    return { kind: 'build', partitions: wait.partitions };
  }

  /** The partition's state is built: it waits no more. */
  built(p: number): void {
    this.waits.delete(p);
  }

  /** On revocation: the next owner decides for itself. */
  release(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.waits.delete(tp.partition);
  }

  close(): Promise<void> {
    return this.progress.close();
  }

  /** Partition numbers waiting (tests). */
  get waiting(): number[] {
    return [...this.waits.keys()];
  }
}

/** Scored readings the writer has yet to store to reach the targets. */
function behind(targets: ReadonlyMap<number, bigint>, stored: ReadonlyMap<number, bigint>): bigint {
  let missing = 0n;
  for (const [q, end] of targets) {
    const done = stored.get(q) ?? 0n;
    if (end > done) missing += end - done;
  }
  return missing;
}
