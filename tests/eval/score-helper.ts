import { readLeadFile } from '../../eval/lead.js';
import { loadAnomalyModel } from '../../stages/score_anomaly/model.js';
import { featuresOfSeries } from '../../stages/score_anomaly/series.js';

/** Scores of the first building of a LEAD-format file, in time order. */
export async function scoreLeadFile(lead: string, modelPath: string): Promise<Float32Array> {
  const { series } = await readLeadFile(lead, new Map());
  const first = series[0];
  if (!first) throw new Error(`${lead}: no readings`);
  const model = await loadAnomalyModel(modelPath);
  try {
    const { matrix } = featuresOfSeries(first.readings, first.attributes);
    return Float32Array.from(await model.score(matrix, first.readings.length));
  } finally {
    await model.release();
  }
}
