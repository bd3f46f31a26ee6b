import { createPassthroughStage } from '../../../stages/passthrough/stage.js';
import type { ConformanceCase } from '../../conformance/case.js';

export const conformance: ConformanceCase = {
  make: () => createPassthroughStage({ maxRecords: 3 }),
  samples: [
    { key: 'm1', value: '{"a":1}', expect: 'ok' },
    { key: null, value: 'raw bytes', headers: { trace: 'x' }, expect: 'ok' },
    { key: 'm2', value: Buffer.from([1, 2, 3]), expect: 'ok' },
  ],
  options: { recordIndependent: true },
};
