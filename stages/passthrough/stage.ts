/**
 * Forwards every record unchanged (same key, same bytes) from `bench.in.v1` to `bench.out.v1`.
 * A real stage used by the runtime benchmark, the real-broker runtime tests and the conformance
 * suite's self-test: it measures what the runtime costs when the stage itself costs nothing.
 */
import { bytesCodec, ok, type Stage } from '../../pipeline/index.js';

import { passthroughTopics } from './topics.js';

export { passthroughTopics };

export function createPassthroughStage(options: { maxRecords?: number } = {}): Stage<Buffer, Buffer> {
  return {
    name: 'passthrough',
    inputs: [passthroughTopics.input],
    input: bytesCodec,
    output: { topic: passthroughTopics.output, codec: bytesCodec, key: () => '' },
    batch: { maxRecords: options.maxRecords ?? 1_000 },
    async process(batch) {
      return batch.map((envelope) =>
        ok({ value: envelope.value, ...(envelope.raw.key === null ? {} : { key: envelope.raw.key.toString('utf8') }) }),
      );
    },
  };
}
