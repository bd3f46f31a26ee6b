/**
 * `eaio eval anomalies`: a LEAD-format file scored causally, building by building in time order,
 * through the stage's feature code and an ONNX model, without Kafka; metrics against its labels.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_COUNT } from '../stages/score_anomaly/features.js';
import { type AnomalyModel, loadAnomalyModel } from '../stages/score_anomaly/model.js';
import { featuresOfSeries } from '../stages/score_anomaly/series.js';
import { type LeadSkips, readLeadFile, readMetadataFile } from './lead.js';
import { type BinaryMetrics, binaryMetrics } from './metrics.js';

export const BATCH_ROWS = 4096;

export interface EvalOptions {
  readonly lead: string;
  readonly metadata?: string | undefined;
  /** One model for every building… */
  readonly model?: string | undefined;
  /** …or leave-one-building-out: building B scored by `<foldDir>/<B>.onnx`. */
  readonly foldDir?: string | undefined;
  readonly threshold: number;
  /** Only these buildings (all when empty). */
  readonly buildings?: readonly string[] | undefined;
  readonly progress?: ((line: string) => void) | undefined;
}

export interface BuildingResult {
  readonly building: string;
  readonly model: string;
  readonly metadata: boolean;
  readonly metrics: BinaryMetrics;
}

export interface EvalResult {
  readonly buildings: BuildingResult[];
  readonly overall: BinaryMetrics;
  readonly threshold: number;
  readonly readings: number;
  /** Featurising and inference, file reading excluded. */
  readonly seconds: number;
  readonly readingsPerSecond: number;
  readonly skips: LeadSkips;
}

export async function evaluateAnomalies(options: EvalOptions): Promise<EvalResult> {
  const progress = options.progress ?? (() => {});
  const attributes = options.metadata ? readMetadataFile(options.metadata) : new Map();
  const { series, skips } = await readLeadFile(options.lead, attributes, (rows) => progress(`read ${rows} rows`));
  const wanted = options.buildings && options.buildings.length > 0 ? new Set(options.buildings) : undefined;
  const chosen = series.filter((s) => !wanted || wanted.has(s.building));
  if (wanted) {
    const missing = [...wanted].filter((b) => !series.some((s) => s.building === b));
    if (missing.length > 0) throw new Error(`${options.lead}: no readings for building(s) ${missing.join(', ')}`);
  }

  const models = new Map<string, AnomalyModel>();
  const modelFor = async (building: string): Promise<AnomalyModel> => {
    let path = options.model;
    if (options.foldDir) {
      path = join(options.foldDir, `${building}.onnx`);
      if (!existsSync(path))
        throw new Error(`no leave-one-building-out model for building ${building}: ${path} is missing`);
    }
    if (!path) throw new Error('no model: pass --model FILE or --lobo DIR');
    let model = models.get(path);
    if (!model) {
      model = await loadAnomalyModel(path);
      models.set(path, model);
    }
    return model;
  };

  const results: BuildingResult[] = [];
  const allScores: number[] = [];
  const allLabels: boolean[] = [];
  let seconds = 0;
  try {
    for (const [i, s] of chosen.entries()) {
      const model = await modelFor(s.building);
      const started = performance.now();
      const { matrix } = featuresOfSeries(s.readings, s.attributes);
      const scores = new Float32Array(s.readings.length);
      for (let from = 0; from < s.readings.length; from += BATCH_ROWS) {
        const rows = Math.min(BATCH_ROWS, s.readings.length - from);
        const batch = matrix.subarray(from * FEATURE_COUNT, (from + rows) * FEATURE_COUNT);
        scores.set(await model.score(batch, rows), from);
      }
      seconds += (performance.now() - started) / 1000;
      const labels = s.readings.map((r) => r.anomaly);
      const metrics = binaryMetrics(scores, labels, options.threshold);
      results.push({
        building: s.building,
        model: model.version,
        metadata: s.attributes.timeZone !== undefined,
        metrics,
      });
      for (let k = 0; k < scores.length; k++) {
        allScores.push(scores[k] as number);
        allLabels.push(labels[k] as boolean);
      }
      progress(`building ${s.building} (${i + 1}/${chosen.length}): ${s.readings.length} readings scored`);
    }
  } finally {
    for (const model of models.values()) await model.release();
  }
  const readings = allScores.length;
  return {
    buildings: results,
    overall: binaryMetrics(allScores, allLabels, options.threshold),
    threshold: options.threshold,
    readings,
    seconds,
    readingsPerSecond: seconds > 0 ? readings / seconds : 0,
    skips,
  };
}

const figure = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(4));

/** The human report, ending with the one summary line scripts read. */
export function formatEval(result: EvalResult): string {
  const lines = [
    `threshold ${result.threshold}`,
    'building      readings  anomalies  roc_auc  pr_auc   precision  recall  f1      model',
  ];
  const row = (name: string, m: BinaryMetrics, model: string) =>
    `${name.padEnd(12)}  ${String(m.readings).padStart(8)}  ${String(m.positives).padStart(9)}  ${figure(m.rocAuc).padEnd(7)}  ${figure(m.prAuc).padEnd(7)}  ${figure(m.precision).padEnd(9)}  ${figure(m.recall).padEnd(6)}  ${figure(m.f1).padEnd(6)}  ${model}`;
  for (const b of result.buildings)
    lines.push(row(b.building, b.metrics, b.metadata ? b.model : `${b.model} (no metadata)`));
  lines.push(row('overall', result.overall, ''));
  const s = result.skips;
  lines.push(
    `readings scored ${result.readings} in ${result.seconds.toFixed(2)} s (${Math.round(result.readingsPerSecond)} readings/s); ` +
      `rows not scored: ${s.missingReading} missing reading, ${s.nonexistentTime} nonexistent local time, ${s.duplicateHour} duplicate hour, ${s.badRow} unreadable`,
  );
  lines.push(
    `eval anomalies: buildings=${result.buildings.length} readings=${result.readings} roc_auc=${figure(result.overall.rocAuc)} pr_auc=${figure(result.overall.prAuc)} f1=${figure(result.overall.f1)}`,
  );
  return lines.join('\n');
}
