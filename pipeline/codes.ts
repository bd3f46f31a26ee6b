/**
 * Dead-letter codes, skip reasons and defer reasons are metric labels and what users filter dead
 * letters by (`eaio dlq list|replay <stage> --code C`), so each is a closed set. The runtime's own
 * codes are listed here; a stage lists the ones it emits itself next to its code and declares them
 * (`StageCodes`) on its descriptor. docs/messages.md explains each code and its fix.
 */
import { deadLetter as anyDeadLetter, defer as anyDefer, skip as anySkip, type StageResult } from './stage.js';

/** Codes the runtime gives records of any stage: decode failures, unclassified throws, chain hand-overs. */
export const RUNTIME_DEAD_LETTER_CODES = [
  'invalid_payload',
  'decode_error',
  'process_error',
  'encode_error',
  'unexpected_topic',
] as const;

export type RuntimeDeadLetterCode = (typeof RUNTIME_DEAD_LETTER_CODES)[number];

/**
 * Why a record was dead-lettered decides how it is fixed: `content` — the record itself is wrong,
 * the same bytes would be rejected again, so it is corrected and published again (`eaio dlq
 * export`, edit, `eaio publish`); `environment` — something around it was wrong (metadata not
 * imported, a defect, a setting), so once that is fixed `eaio dlq replay` sends the original back.
 */
export type DeadLetterKind = 'content' | 'environment';

/**
 * The runtime's codes by kind. `invalid_payload` and `unexpected_topic` are content: sending the
 * same bytes to the same topic again meets the same check (a record written by another EAIO
 * version, or a worker reading the wrong topics, may still be replayed with `--include-content`
 * once versions or settings match); the others are defects, fixed in code.
 */
export const RUNTIME_DEAD_LETTER_KINDS = {
  invalid_payload: 'content',
  decode_error: 'environment',
  process_error: 'environment',
  encode_error: 'environment',
  unexpected_topic: 'content',
} as const satisfies Record<RuntimeDeadLetterCode, DeadLetterKind>;

/** A record whose `process` call threw an unclassified error on its own. */
export const processErrorCode: RuntimeDeadLetterCode = 'process_error';
/** A chain step's output its own codec or key function could not encode. */
export const encodeErrorCode: RuntimeDeadLetterCode = 'encode_error';
/** A record from a topic the stage (or chain) does not read. */
export const unexpectedTopicCode: RuntimeDeadLetterCode = 'unexpected_topic';

/** What a stage emits beyond the runtime's codes: each list is closed, absent means none. */
export interface StageCodes<D extends string = string, S extends string = string, F extends string = string> {
  readonly deadLetterCodes?: readonly D[];
  /** Every code of `deadLetterCodes` with its kind (declare it `satisfies Record<Code, DeadLetterKind>`). */
  readonly deadLetterKinds?: Readonly<Record<D, DeadLetterKind>>;
  readonly skipReasons?: readonly S[];
  readonly deferReasons?: readonly F[];
}

/** `deadLetter`, `skip` and `defer` that accept only a stage's listed codes and reasons. */
export interface StageResultHelpers<D extends string, S extends string, F extends string> {
  deadLetter(code: D, error: Error | string): StageResult<never>;
  skip(reason: S): StageResult<never>;
  defer(reason: F, delayMs?: number): StageResult<never>;
}

/** The result helpers typed by a stage's lists: `const { deadLetter } = stageResults(validateCodes)`. */
export const stageResults = <
  const D extends string = never,
  const S extends string = never,
  const F extends string = never,
>(
  _codes: StageCodes<D, S, F>,
): StageResultHelpers<D, S, F> => ({ deadLetter: anyDeadLetter, skip: anySkip, defer: anyDefer });
