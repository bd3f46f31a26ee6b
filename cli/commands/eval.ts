import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_THRESHOLD } from '../../stages/score_anomaly/model.js';
import { type Command, UsageError } from '../command.js';
import { evalSimilarityUsage } from './eval-similarity.js';

const repo = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const DEFAULT_LEAD = repo('../shared/data/bdg2/lead/train.csv');
const DEFAULT_METADATA = repo('../shared/data/bdg2/metadata.csv');
const DEFAULT_MODEL = repo('models/anomaly/anomaly.onnx');

const usage = `Usage: eaio eval anomalies [--lead FILE] [--bdg2-metadata FILE] [--model FILE | --lobo DIR]
                          [--building ID]... [--threshold X] [--json]

Scores a LEAD-format file (building_id,timestamp,meter_reading,anomaly) causally, building by
building in time order, through score_anomaly's feature code and an ONNX model (no Kafka), and
prints ROC-AUC, PR-AUC and precision / recall / F1 at the threshold, per building and overall,
readings scored and readings/s, ending with one line:
  eval anomalies: buildings=… readings=… roc_auc=… pr_auc=… f1=…

  --lead FILE           LEAD-format CSV (default ${DEFAULT_LEAD});
                        timestamps are local times of the building when its time zone is known
                        from the metadata, UTC otherwise; empty meter_reading = a missing hour
  --bdg2-metadata FILE  BDG2 metadata.csv: time zone, primary use, area; LEAD ids join through
                        building_id_kaggle (default ${DEFAULT_METADATA} when present;
                        buildings without metadata are scored all the same)
  --model FILE          the ONNX model (default EAIO_SCORE_ANOMALY_MODEL, else models/anomaly/anomaly.onnx)
  --lobo DIR            leave-one-building-out: score building B with DIR/B.onnx, a model that never
                        saw B's labels (models/anomaly/lobo holds the committed folds)
  --building ID         only this building (repeatable)
  --threshold X         flag readings with score >= X (default EAIO_SCORE_ANOMALY_THRESHOLD, else ${DEFAULT_THRESHOLD})
  --json                print the result as one JSON object instead

Progress goes to stderr. Exit 0 when scored, 1 on an unreadable file or model, 2 on a usage error.

${evalSimilarityUsage}`;

function parseThreshold(text: string, what: string): number {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || x < 0 || x > 1)
    throw new UsageError(`${what} must be a number in [0, 1], not "${text}"`);
  return x;
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'measure the anomaly scorer (LEAD labels) or the similarity search (BDG2 primary use)',
  usage,
  async run(argv) {
    if (argv[0] === 'similarity') return (await import('./eval-similarity.js')).runEvalSimilarity(argv.slice(1));
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        lead: { type: 'string' },
        'bdg2-metadata': { type: 'string' },
        model: { type: 'string' },
        lobo: { type: 'string' },
        building: { type: 'string', multiple: true },
        threshold: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const [what, ...extra] = positionals;
    if (what !== 'anomalies')
      throw new UsageError(what ? `unknown evaluation "${what}"` : 'missing what to evaluate: anomalies or similarity');
    if (extra.length > 0) throw new UsageError(`unexpected argument(s): ${extra.join(' ')}`);
    if (values.model && values.lobo) throw new UsageError('pass --model or --lobo, not both');
    const envThreshold = process.env.EAIO_SCORE_ANOMALY_THRESHOLD;
    const threshold =
      values.threshold !== undefined
        ? parseThreshold(values.threshold, '--threshold')
        : envThreshold
          ? parseThreshold(envThreshold, 'EAIO_SCORE_ANOMALY_THRESHOLD')
          : DEFAULT_THRESHOLD;
    const lead = values.lead ?? DEFAULT_LEAD;
    if (!existsSync(lead)) {
      console.error(`eval anomalies: ${lead} does not exist; pass --lead FILE (a LEAD-format CSV)`);
      return 1;
    }
    const metadata = values['bdg2-metadata'] ?? (existsSync(DEFAULT_METADATA) ? DEFAULT_METADATA : undefined);
    if (metadata && !existsSync(metadata)) {
      console.error(`eval anomalies: ${metadata} does not exist; pass --bdg2-metadata FILE or leave it out`);
      return 1;
    }
    try {
      // Loaded only here: `eaio --help` lists this command without loading the evaluation.
      const { evaluateAnomalies, formatEval } = await import('../../eval/anomalies.js');
      const result = await evaluateAnomalies({
        lead,
        metadata,
        model: values.lobo ? undefined : (values.model ?? process.env.EAIO_SCORE_ANOMALY_MODEL ?? DEFAULT_MODEL),
        foldDir: values.lobo,
        threshold,
        buildings: values.building,
        progress: (line) => console.error(`eval anomalies: ${line}`),
      });
      console.log(values.json ? JSON.stringify(result) : formatEval(result));
      return 0;
    } catch (error) {
      console.error(`eval anomalies: ${(error as Error).message}`);
      return 1;
    }
  },
};
