/**
 * validate: the first stage of the readings pipeline. Reads `readings.raw.v1`, checks each reading
 * against the pure rules (rules.ts: schema, known building and meter, unit, value, timestamp) and
 * emits the normalised reading to `readings.validated.v1`, keyed by meter id. A rejected reading is
 * dead-lettered with the rule's specific code; a second reading of the same meter and hour within
 * a batch with the same value is skipped (`duplicate_in_batch`); another value passes as a correction.
 */

import type { Sql } from 'postgres';
import type { ValidatedReading } from '../../domain/messages.js';
import { parseTime } from '../../domain/time-memo.js';
import { TOPICS } from '../../domain/topics.js';
import {
  type Codec,
  errorMessage,
  ok,
  type Stage,
  type StageContext,
  type StageResult,
  stageResults,
} from '../../pipeline/index.js';
import type { StageClients } from '../descriptor.js';
import { validatedReadingCodec } from '../shared/message-codecs.js';
import { waitForPostgres } from '../shared/pg-wait.js';
import { type CatalogSnapshot, loadCatalog } from './catalog.js';
import { CatalogCache } from './catalog-cache.js';
import { type ValidateDeadLetterCode, validateCodes } from './codes.js';
import { type ValidateConfig, validateDefaults } from './config.js';
import { type BatchItemResult, decodeJson, type ValidationCode, validateBatch } from './rules.js';

export const VALIDATE = 'validate';

export interface ValidateDeps {
  /** A pool owned by the caller; without it (and without `loadCatalog`) the stage opens one in `init`. */
  readonly sql?: Sql;
  /** Where the stage opens its own pool (the descriptor passes them). */
  readonly clients?: StageClients;
  /** Where the catalog comes from; defaults to `loadCatalog(sql)`. Tests pass a fixed one. */
  readonly loadCatalog?: () => Promise<CatalogSnapshot>;
  readonly config?: Partial<ValidateConfig>;
  /** The clock the future-skew rule compares against. */
  readonly now?: () => Date;
}

/**
 * Bytes → JSON value. Only what JSON.parse needs is checked here, so that the rules' specific
 * codes (invalid_encoding, invalid_json) become the dead-letter codes; the schema is the rules' job.
 */
export const rawJsonCodec: Codec<unknown> = {
  decode(raw) {
    const decoded = decodeJson(raw.value);
    if (!decoded.ok) return decoded;
    const time = (decoded.value as { time?: unknown } | null)?.time;
    const eventTime = typeof time === 'string' ? parseTime(time) : Number.NaN;
    return Number.isFinite(eventTime)
      ? { ok: true, value: decoded.value, eventTime }
      : { ok: true, value: decoded.value };
  },
  encode: (value) => Buffer.from(JSON.stringify(value)),
};

export { validatedReadingCodec };

const isSchemaViolation = (code: ValidationCode): code is `schema_violation:${string}` =>
  code.startsWith('schema_violation:');

/** Dead-letter codes are metric labels: `schema_violation:<field>` keeps the field in the message only. */
export function deadLetterCode(code: ValidationCode): ValidateDeadLetterCode {
  return isSchemaViolation(code) ? 'schema_violation' : code;
}

const { deadLetter, skip } = stageResults(validateCodes);

const isCatalogMiss = (r: BatchItemResult) =>
  !r.ok && !('skip' in r) && (r.code === 'unknown_building' || r.code === 'unknown_meter');

function toStageResult(result: BatchItemResult): StageResult<ValidatedReading> {
  if (result.ok) return ok({ value: result.reading });
  if ('skip' in result) return skip(result.skip);
  return deadLetter(deadLetterCode(result.code), result.message);
}

export function createValidateStage(deps: ValidateDeps = {}): Stage<unknown, ValidatedReading> {
  const config: ValidateConfig = { ...validateDefaults(), ...deps.config };
  const ownsSql = deps.sql === undefined && deps.loadCatalog === undefined;
  let sql = deps.sql;
  const load = deps.loadCatalog ?? (() => loadCatalog(sql as Sql));
  const now = deps.now ?? (() => new Date());
  let log: StageContext['log'] | undefined;
  const catalog = new CatalogCache(load, {
    refreshMs: config.catalogRefreshMs,
    missRefreshMs: config.catalogMissRefreshMs,
    onLoaded: (s, reason) => log?.info({ reason, buildings: s.buildingCount, meters: s.meterCount }, 'catalog loaded'),
    onLoadFailed: (error, reason) => log?.warn({ reason, err: errorMessage(error) }, 'catalog load failed'),
  });
  const options = { futureSkewMs: config.futureSkewMs };

  return {
    name: VALIDATE,
    inputs: [TOPICS.readingsRaw],
    input: rawJsonCodec,
    output: { topic: TOPICS.readingsValidated, codec: validatedReadingCodec, key: (r) => r.meter_id },
    batch: { maxRecords: config.maxRecords },

    async init(ctx) {
      log = ctx.log;
      if (ownsSql) {
        if (!deps.clients) throw new Error('validate needs a PostgreSQL pool: pass sql, clients or loadCatalog');
        sql = deps.clients.postgres({ max: config.dbPool, applicationName: 'eaio-validate' });
      }
      await waitForPostgres(sql, ctx, { waitMs: deps.clients?.startupWaitMs });
      await catalog.current();
    },

    async process(batch) {
      if (batch.length === 0) return [];
      const values = batch.map((e) => e.value);
      const at = now();
      let results = validateBatch(values, await catalog.current(), at, options);
      if (results.some(isCatalogMiss)) {
        // Perhaps imported since the last load: look again (rate-limited) before dead-lettering.
        const fresher = await catalog.reloadAfterMiss();
        if (fresher) results = validateBatch(values, fresher, at, options);
      }
      return results.map(toStageResult);
    },

    async close() {
      if (ownsSql) await sql?.end({ timeout: 5 });
    },
  };
}
