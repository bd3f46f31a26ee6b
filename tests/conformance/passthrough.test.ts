import { createPassthroughStage } from '../../stages/passthrough/stage.js';
import { runStageConformance } from './stage-conformance.js';

runStageConformance(
  'passthrough',
  () => createPassthroughStage({ maxRecords: 3 }),
  [
    { key: 'm1', value: '{"a":1}', expect: 'ok' },
    { key: null, value: 'raw bytes', headers: { trace: 'x' }, expect: 'ok' },
    { key: 'm2', value: Buffer.from([1, 2, 3]), expect: 'ok' },
  ],
  { recordIndependent: true },
);
