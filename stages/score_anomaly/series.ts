import { computeFeatures, FEATURE_COUNT, type ReadingInput, type StaticAttributes } from './features.js';
import { MeterHistory } from './history.js';

export interface SeriesFeatures {
  /** Row-major, FEATURE_COUNT columns per reading. */
  readonly matrix: Float32Array;
  /** Expected value per reading; NaN where there was none. */
  readonly expected: Float64Array;
  readonly confidence: Float64Array;
}

/**
 * Features of one meter's readings, fed one after another in the given order exactly as the stage
 * feeds a partition's records: each reading is featurised from the history before it, then recorded.
 */
export function featuresOfSeries(
  readings: readonly ReadingInput[],
  attributes: StaticAttributes,
  history = new MeterHistory(),
): SeriesFeatures {
  const matrix = new Float32Array(readings.length * FEATURE_COUNT);
  const expected = new Float64Array(readings.length);
  const confidence = new Float64Array(readings.length);
  readings.forEach((reading, i) => {
    const summary = computeFeatures(history, reading, attributes, matrix, i * FEATURE_COUNT);
    expected[i] = summary.expected ?? Number.NaN;
    confidence[i] = summary.confidence;
    history.record(reading.timeMs, reading.value);
  });
  return { matrix, expected, confidence };
}
