import type { Sql } from 'postgres';
import type { Stage } from '../../pipeline/index.js';
import type { ConformanceOptions, ConformanceSample } from './stage-conformance.js';

/** What the registry walk hands each stage's case: a migrated throw-away database. */
export interface ConformanceHarness {
  readonly sql: Sql;
}

/**
 * A registered stage's conformance samples and how to build it for them; every stage exports one
 * as `conformance` from tests/stages/<name>/conformance.ts (tests/integration/stages/registry-conformance.test.ts).
 */
export interface ConformanceCase {
  readonly samples: readonly ConformanceSample[];
  // biome-ignore lint/suspicious/noExplicitAny: stages of any record types
  make(harness: ConformanceHarness): Stage<any, any> | Promise<Stage<any, any>>;
  readonly options?: ConformanceOptions;
}
