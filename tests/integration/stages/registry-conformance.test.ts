/**
 * The conformance suite (tests/conformance/stage-conformance.ts) on every registered stage, with
 * the samples its tests/stages/<name>/conformance.ts exports. A stage without samples fails here,
 * and so does one whose samples build a stage other than the registered one.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputsByName } from '../../../pipeline/index.js';
import { stageDescriptors, stagePlan } from '../../../stages/registry.js';
import type { ConformanceCase, ConformanceHarness } from '../../conformance/case.js';
import { runStageConformance } from '../../conformance/stage-conformance.js';
import { createTestDatabase, type TestDatabase } from './pg-test-db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});
const harness = (): ConformanceHarness => ({ sql: db.sql });

const caseFile = (stage: string) => new URL(`../../stages/${stage}/conformance.ts`, import.meta.url);
const cases = await Promise.all(
  stageDescriptors.map(async (d) => {
    const file = caseFile(d.name);
    const found = existsSync(file)
      ? ((await import(file.href)) as { conformance?: ConformanceCase }).conformance
      : undefined;
    return { name: d.name, conformance: found };
  }),
);

describe('every registered stage has conformance samples', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (name, c) => {
    expect(c.conformance, `add tests/stages/${name}/conformance.ts exporting \`conformance\``).toBeDefined();
    expect(c.conformance?.samples.length ?? 0).toBeGreaterThan(0);
  });

  it.each(cases.filter((c) => c.conformance).map((c) => [c.name, c] as const))(
    '%s: the samples build the registered stage (same name, inputs and outputs)',
    async (name, c) => {
      const stage = await (c.conformance as ConformanceCase).make(harness());
      const plan = stagePlan(name, { prefix: 'conf' }, {});
      expect(stage.name).toBe(plan.name);
      expect([...stage.inputs]).toEqual([...plan.inputs]);
      expect(Object.fromEntries([...outputsByName(stage)].map(([n, s]) => [n, s.topic]))).toEqual(plan.outputs);
      await stage.close?.();
    },
  );
});

for (const { name, conformance } of cases) {
  if (conformance)
    runStageConformance(name, () => conformance.make(harness()), conformance.samples, conformance.options);
}
