/**
 * write_hypertable: the sink of the readings pipeline. Stores each batch of readings in
 * `meter_readings` together with the consumed offsets in one transaction, and resumes from those
 * offsets on assignment (`loadStoredOffsets`), so at-least-once delivery becomes an exactly-once
 * effect on the table. PostgreSQL errors: connection/serialization/resource → retry the batch;
 * data/constraint → the runner re-runs record by record and this stage dead-letters the offender
 * alone; undefined table/column and other schema errors → fatal.
 */

import type { Sql } from 'postgres';
import { loadEnv } from '../../config/load.js';
import { parseTime } from '../../domain/time-memo.js';
import { consumerGroup, deadLetter, jsonCodec, ok, type Stage } from '../../pipeline/index.js';
import { type RefreshJob, startRefreshJob } from '../../sql/refresh-job.js';
import { enrichedReadingCodec } from '../shared/message-codecs.js';
import { createPgClient } from '../shared/pg-client.js';
import { pgRunnerDisposition } from '../shared/pg-disposition.js';
import { classifyPgError, pgDeadLetterCode } from '../shared/pg-errors.js';
import { waitForPostgres } from '../shared/pg-wait.js';
import { loadWriteHypertableConfig, type WriteHypertableConfig } from './config.js';
import {
  latestPerMeterHour,
  nextOffsets,
  toMeterReadingRow,
  type WritableReading,
  WritableReadingSchema,
} from './rows.js';
import { HypertableWriter, type WriterHooks } from './writer.js';

export const WRITE_HYPERTABLE = 'write_hypertable';

export interface WriteHypertableDeps {
  /** A pool owned by the caller; without it the stage opens one on DATABASE_URL and closes it itself. */
  readonly sql?: Sql;
  readonly config?: Partial<WriteHypertableConfig>;
  /** Key of the offsets in `stage_offsets`; defaults to the stage's consumer group (`${EAIO_TOPIC_PREFIX}.stage.write_hypertable`). */
  readonly offsetsGroup?: string;
  readonly hooks?: WriterHooks;
}

/** An EnrichedReading is a WritableReading without scores: values typed as one need no re-check. */
export const writableReadingCodec = jsonCodec<WritableReading>(
  (v) => WritableReadingSchema.parse(v),
  (r) => parseTime(r.time),
  { trusts: [enrichedReadingCodec as never] },
);

export function createWriteHypertableStage(deps: WriteHypertableDeps = {}): Stage<WritableReading> {
  const config: WriteHypertableConfig = { ...loadWriteHypertableConfig(), ...deps.config };
  const ownsSql = deps.sql === undefined;
  const sql =
    deps.sql ??
    createPgClient(loadEnv().DATABASE_URL, { max: config.dbPool, applicationName: 'eaio-write_hypertable' });
  const group = deps.offsetsGroup ?? consumerGroup({ prefix: loadEnv().EAIO_TOPIC_PREFIX }, WRITE_HYPERTABLE);
  const writer = new HypertableWriter(sql, group, deps.hooks);
  let maintenance: RefreshJob | undefined;

  return {
    name: WRITE_HYPERTABLE,
    inputs: [config.inputTopic],
    input: writableReadingCodec,
    batch: { maxRecords: config.maxRecords },
    classifyError: pgRunnerDisposition,

    async init(ctx) {
      await waitForPostgres(sql, ctx);
      // The writer is what changes meter_readings, so it keeps partitions ahead and the roll-ups fresh.
      if (config.maintenanceCron)
        maintenance = startRefreshJob(sql, { schedule: config.maintenanceCron, logger: ctx.log });
    },

    async process(batch, ctx) {
      const rows = latestPerMeterHour(batch.map((e) => toMeterReadingRow(e.value)));
      // In a chain, where the whole input chunk ends (records before it are finished, see StageContext).
      const offsets = ctx.inputEnd ?? nextOffsets(batch);
      if (rows.length === 0 && offsets.length === 0) return [];
      try {
        await writer.write(rows, offsets);
      } catch (error) {
        // Alone (the runner's one-by-one re-run), a data/constraint error is this record's fault.
        // Its offset is not stored here: the dead letter is not acknowledged yet; the next good
        // record's transaction moves the stored offset past it.
        if (batch.length === 1 && classifyPgError(error) === 'dead_letter') {
          return [deadLetter(pgDeadLetterCode(error), error as Error)];
        }
        throw error;
      }
      return batch.map(() => ok());
    },

    loadStoredOffsets: (partitions) => writer.storedOffsets(partitions),

    async close() {
      await maintenance?.stop();
      if (ownsSql) await sql.end({ timeout: 5 });
    },
  };
}
