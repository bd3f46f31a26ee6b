import { z } from 'zod';
import { defineStage } from '../descriptor.js';
import { passthroughTopics } from './topics.js';

export const passthroughSettings = z.object({
  EAIO_PASSTHROUGH_BATCH_RECORDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(1_000)
    .describe('Most records per process call of the benchmark-only passthrough stage.'),
});

export const passthroughStage = defineStage({
  name: 'passthrough',
  summary: 'forwards every record unchanged from bench.in.v1 to bench.out.v1 (benchmarks and runtime tests)',
  auxiliary: true,
  settings: {
    schema: passthroughSettings,
    toConfig: (values) => ({ maxRecords: values.EAIO_PASSTHROUGH_BATCH_RECORDS }),
  },
  inputs: () => [passthroughTopics.input],
  outputs: () => ({ main: passthroughTopics.output }),
  async create({ config }) {
    const { createPassthroughStage } = await import('./stage.js');
    return createPassthroughStage(config);
  },
});
