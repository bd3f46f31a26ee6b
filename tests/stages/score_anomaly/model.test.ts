import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FEATURE_COUNT } from '../../../stages/score_anomaly/features.js';
import {
  assertModelContract,
  contractMismatches,
  loadAnomalyModel,
  ModelContractError,
} from '../../../stages/score_anomaly/model.js';
import { featuresOfSeries } from '../../../stages/score_anomaly/series.js';

const file = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
type Metadata = Parameters<typeof contractMismatches>[0][number];
const tensor = (name: string, shape: (number | string)[], type: 'float32' | 'float64' = 'float32'): Metadata => ({
  name,
  isTensor: true,
  type,
  shape,
});

describe('anomaly model contract', () => {
  it('the committed model takes what features.ts produces and returns one score in [0, 1] per row', async () => {
    const model = await loadAnomalyModel(file('models/anomaly/anomaly.onnx'));
    try {
      expect(model.version).toMatch(/^anomaly\.onnx@[0-9a-f]{12}$/);
      const readings = Array.from({ length: 24 * 9 }, (_, h) => ({
        timeMs: Date.UTC(2016, 0, 4, h),
        value: 100 + (h % 24),
      }));
      const { matrix } = featuresOfSeries(readings, {});
      const scores = await model.score(matrix, readings.length);
      expect(scores).toHaveLength(readings.length);
      expect(scores.every((s) => s >= 0 && s <= 1)).toBe(true);
    } finally {
      await model.release();
    }
  });

  it('the committed leave-one-building-out models follow the contract too', async () => {
    for (const b of ['118', '121', '685', '697'])
      await (await loadAnomalyModel(file(`models/anomaly/lobo/${b}.onnx`))).release();
  });

  it('rejects a model with other inputs and outputs, naming them', async () => {
    const attempt = loadAnomalyModel(file('models/tiny/linear2.onnx'));
    await expect(attempt).rejects.toThrow(ModelContractError);
    await expect(attempt).rejects.toThrow(
      /inputs are \[x: float32\[batch, 2\]\]; expected exactly one, features: float32\[N, 21\]/,
    );
    await expect(attempt).rejects.toThrow(/outputs are \[y: float32\[batch, 1\]\]; expected score/);
  });

  it('rejects a missing file with the setting that names it', async () => {
    await expect(loadAnomalyModel('/nonexistent/model.onnx')).rejects.toThrow(
      /cannot be read \(ENOENT\).*EAIO_SCORE_ANOMALY_MODEL/,
    );
  });

  it('names each kind of mismatch', () => {
    const ok = [tensor('features', ['N', FEATURE_COUNT])];
    const out = [tensor('score', ['N', 1])];
    expect(contractMismatches(ok, out)).toEqual([]);
    expect(contractMismatches(ok, [tensor('score', ['N'])])).toEqual([]);
    expect(contractMismatches([tensor('features', ['N', FEATURE_COUNT + 1])], out)[0]).toMatch(
      /features: float32\[N, 22\]: expected shape \[N, 21\]/,
    );
    expect(contractMismatches([tensor('features', ['N', FEATURE_COUNT], 'float64')], out)[0]).toMatch(
      /expected type float32/,
    );
    expect(contractMismatches(ok, [tensor('score', ['N', 2])])[0]).toMatch(/expected shape \[N, 1\] or \[N\]/);
    expect(() =>
      assertModelContract({ inputMetadata: [tensor('x', ['N', 3])], outputMetadata: out }, 'm.onnx'),
    ).toThrow(/anomaly model m\.onnx does not match the contract/);
  });
});
