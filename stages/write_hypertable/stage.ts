/**
 * write_hypertable: the sink of the readings pipeline. Stores each batch of readings in
 * `meter_readings` together with the consumed offsets in one transaction, and resumes from those
 * offsets on assignment (`loadStoredOffsets`), so at-least-once delivery becomes an exactly-once
 * effect on the table. PostgreSQL errors: connection/serialization/resource → retry the batch;
 * data/constraint → the runner re-runs record by record and this stage dead-letters the offender
 * alone; undefined table/column and other schema errors → fatal.
 */

import type { Sql } from 'postgres';
import { parseTime } from '../../domain/time-memo.js';
import { jsonCodec, ok, type Stage, type StageContext, stageResults } from '../../pipeline/index.js';
import type { StageClients } from '../descriptor.js';
import { enrichedReadingCodec, scoredReadingCodec } from '../shared/message-codecs.js';
import { pgRunnerDisposition } from '../shared/pg-disposition.js';
import { pgDeadLetterCode } from '../shared/pg-errors.js';
import { waitForPostgres } from '../shared/pg-wait.js';
import { writeHypertableCodes } from './codes.js';
import { type WriteHypertableConfig, writeHypertableDefaults } from './config.js';
import {
  anomalyChanges,
  latestPerMeterHourCounted,
  nextOffsets,
  toMeterReadingRow,
  type WritableReading,
  WritableReadingSchema,
} from './rows.js';
import { HypertableWriter, type WriteCounts, type WriterHooks } from './writer.js';

export const WRITE_HYPERTABLE = 'write_hypertable';

export interface WriteHypertableDeps {
  /** A pool owned by the caller; without it the stage opens one in `init` and closes it itself. */
  readonly sql?: Sql;
  /** Where the stage opens its own pool (the descriptor passes them). */
  readonly clients?: StageClients;
  readonly config?: Partial<WriteHypertableConfig>;
  /** Key of the offsets in `stage_offsets`: the consumer group the stage runs in (its chain's, when chained). */
  readonly offsetsGroup: string;
  readonly hooks?: WriterHooks;
}

/** Scored and enriched readings are WritableReadings: values typed as one need no re-check. */
export const writableReadingCodec = jsonCodec<WritableReading>(
  (v) => WritableReadingSchema.parse(v),
  (r) => parseTime(r.time),
  { trusts: [scoredReadingCodec as never, enrichedReadingCodec as never] },
);

const { deadLetter } = stageResults(writeHypertableCodes);

/** Counted once the batch's transaction committed, so a retried batch counts what it really did. */
function countWritten(ctx: StageContext, written: WriteCounts, supersededInBatch: number): void {
  // Latest wins: a stored row replaced by another version is a correction; an earlier version in
  // the same batch (a correction, or a redelivery of what is already stored) is superseded.
  if (written.updated > 0 || supersededInBatch > 0)
    ctx.log.info(
      { corrected: written.updated, supersededInBatch },
      'readings corrected: the latest version of a meter and hour wins',
    );
  const metrics = ctx.metrics;
  if (!metrics) return;
  metrics
    .counter(
      'readings_corrected',
      'Stored readings replaced by another version of their meter and hour (write_hypertable).',
    )
    .inc(written.updated);
  metrics
    .counter(
      'readings_superseded_in_batch',
      'Versions of a meter and hour superseded by a later one in the same batch (write_hypertable).',
    )
    .inc(supersededInBatch);
  metrics.counter('rows_inserted', 'Rows new to meter_readings (write_hypertable).').inc(written.inserted);
  metrics
    .counter('rows_updated', 'Stored rows replaced by a different version (write_hypertable).')
    .inc(written.updated);
  metrics
    .counter('rows_unchanged', 'Rows equal to the stored version, left as they were (write_hypertable).')
    .inc(written.unchanged);
}

export function createWriteHypertableStage(deps: WriteHypertableDeps): Stage<WritableReading> {
  const config: WriteHypertableConfig = { ...writeHypertableDefaults(), ...deps.config };
  const ownsSql = deps.sql === undefined;
  let sql = deps.sql;
  let writer = sql ? new HypertableWriter(sql, deps.offsetsGroup, deps.hooks) : undefined;
  const opened = () => {
    if (!writer) throw new Error('write_hypertable: init() opens its database pool before process()');
    return writer;
  };

  return {
    name: WRITE_HYPERTABLE,
    inputs: [config.inputTopic],
    input: writableReadingCodec,
    batch: { maxRecords: config.maxRecords },
    classifyError: pgRunnerDisposition,

    async init(ctx) {
      if (!sql) {
        if (!deps.clients) throw new Error('write_hypertable needs a PostgreSQL pool: pass sql or clients');
        sql = deps.clients.postgres({ max: config.dbPool, applicationName: 'eaio-write_hypertable' });
        writer = new HypertableWriter(sql, deps.offsetsGroup, deps.hooks);
      }
      await waitForPostgres(sql, ctx, { waitMs: deps.clients?.startupWaitMs });
    },

    async process(batch, ctx) {
      const { rows, superseded } = latestPerMeterHourCounted(batch.map((e) => toMeterReadingRow(e.value)));
      // In a chain, where the whole input chunk ends (records before it are finished, see StageContext).
      const offsets = ctx.inputEnd ?? nextOffsets(batch);
      if (rows.length === 0 && offsets.length === 0) return [];
      try {
        const written = await opened().write(rows, offsets, anomalyChanges(batch.map((e) => e.value)));
        countWritten(ctx, written, superseded);
      } catch (error) {
        // Alone (the runner's one-by-one re-run), a data/constraint error is this record's fault.
        // Its offset is not stored here: the dead letter is not acknowledged yet; the next good
        // record's transaction moves the stored offset past it.
        const code = batch.length === 1 ? pgDeadLetterCode(error) : undefined;
        if (code) return [deadLetter(code, error as Error)];
        throw error;
      }
      return batch.map(() => ok());
    },

    loadStoredOffsets: (partitions) => opened().storedOffsets(partitions),

    async close() {
      if (ownsSql) await sql?.end({ timeout: 5 });
    },
  };
}
