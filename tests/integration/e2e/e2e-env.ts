import { afterAll, beforeAll } from 'vitest';
import { pipelineStages } from '../../../stages/registry.js';
import { createTestDatabase, type TestDatabase } from '../data/test-database.js';
import { deleteTopics, EaioProcesses } from './pipeline-processes.js';

/** The stages of the data path, in pipeline order. */
export const PIPELINE_STAGES: readonly string[] = pipelineStages();

export interface E2eWorld {
  readonly db: TestDatabase;
  readonly eaio: EaioProcesses;
}

/**
 * A fresh database and topic prefix for one test file; afterwards its processes are stopped, its
 * topics deleted and its database dropped. Call at the top level of the file.
 */
export function useE2eWorld(): () => E2eWorld {
  let world: E2eWorld | undefined;
  beforeAll(async () => {
    const db = await createTestDatabase();
    world = { db, eaio: new EaioProcesses(db.url) };
  });
  afterAll(async () => {
    world?.eaio.stopAll();
    if (world) await deleteTopics(world.eaio.prefix).catch(() => undefined);
    await world?.db.drop();
  });
  return () => {
    if (!world) throw new Error('the e2e database and processes are not set up (beforeAll failed?)');
    return world;
  };
}
