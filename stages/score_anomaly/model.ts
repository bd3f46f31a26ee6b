/**
 * The anomaly model behind an ONNX session: its contract checked once at start-up, then batched
 * scoring. The contract (models/anomaly/MODEL_CARD.md): one input `features`, float32
 * [N, FEATURE_COUNT] in FEATURE_NAMES order; one output `score`, float32 [N, 1] or [N], in [0, 1].
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { InferenceSession as Session } from 'onnxruntime-node';
import { FEATURE_COUNT } from './features.js';

export const MODEL_INPUT = 'features';
export const MODEL_OUTPUT = 'score';
/** Every committed model puts its F1-best threshold (chosen without the scored building) at 0.5. */
export const DEFAULT_THRESHOLD = 0.5;

export class ModelContractError extends Error {
  override name = 'ModelContractError';
}

type Metadata = Session['inputMetadata'][number];

const describe = (m: Metadata): string =>
  m.isTensor ? `${m.name}: ${m.type}[${m.shape.join(', ')}]` : `${m.name}: not a tensor`;

/**
 * The mismatches between a session's signature and the contract; empty when it conforms. A
 * symbolic or unknown batch dimension is expected; a fixed feature dimension must equal FEATURE_COUNT.
 */
export function contractMismatches(
  inputs: readonly Metadata[],
  outputs: readonly Metadata[],
  featureCount = FEATURE_COUNT,
): string[] {
  const problems: string[] = [];
  const input = inputs.find((m) => m.name === MODEL_INPUT);
  if (inputs.length !== 1 || !input)
    problems.push(
      `inputs are [${inputs.map(describe).join('; ')}]; expected exactly one, ${MODEL_INPUT}: float32[N, ${featureCount}]`,
    );
  else if (!input.isTensor || input.type !== 'float32')
    problems.push(`input ${describe(input)}: expected type float32`);
  else if (input.shape.length !== 2 || (typeof input.shape[1] === 'number' && input.shape[1] !== featureCount))
    problems.push(`input ${describe(input)}: expected shape [N, ${featureCount}] (the features of FEATURE_NAMES)`);
  else if (typeof input.shape[1] !== 'number')
    problems.push(`input ${describe(input)}: the feature dimension must be fixed at ${featureCount}`);

  const output = outputs.find((m) => m.name === MODEL_OUTPUT);
  if (!output)
    problems.push(`outputs are [${outputs.map(describe).join('; ')}]; expected ${MODEL_OUTPUT}: float32[N, 1]`);
  else if (!output.isTensor || output.type !== 'float32')
    problems.push(`output ${describe(output)}: expected type float32`);
  else if (output.shape.length === 2 && typeof output.shape[1] === 'number' && output.shape[1] !== 1)
    problems.push(`output ${describe(output)}: expected shape [N, 1] or [N]`);
  else if (output.shape.length !== 1 && output.shape.length !== 2)
    problems.push(`output ${describe(output)}: expected shape [N, 1] or [N]`);
  return problems;
}

/** Throws a ModelContractError naming every mismatch; the stage calls it in init. */
export function assertModelContract(session: Pick<Session, 'inputMetadata' | 'outputMetadata'>, path: string): void {
  const problems = contractMismatches(session.inputMetadata, session.outputMetadata);
  if (problems.length > 0)
    throw new ModelContractError(
      `anomaly model ${path} does not match the contract (models/anomaly/MODEL_CARD.md): ${problems.join('; ')}`,
    );
}

export interface AnomalyModel {
  readonly path: string;
  /** `<file name>@<sha256 prefix>`: names the exact model that produced a score. */
  readonly version: string;
  /** Scores rows × FEATURE_COUNT features (row-major); one score per row. */
  score(features: Float32Array, rows: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/**
 * Opens one session for the process. A missing file or a file that breaks the contract throws a
 * one-line error that names the file and the problem.
 */
export async function loadAnomalyModel(path: string): Promise<AnomalyModel> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelContractError(
      `anomaly model ${path} cannot be read (${code ?? String(error)}): set EAIO_SCORE_ANOMALY_MODEL to an ONNX file (models/anomaly/anomaly.onnx)`,
    );
  }
  const ort = await import('onnxruntime-node');
  let session: Session;
  try {
    // One thread per run, no spinning: the stage runs one inference per partition's batch at once,
    // and spinning pool threads starved the event loop that decodes and produces (bench score).
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
  } catch (error) {
    throw new ModelContractError(`anomaly model ${path} is not a loadable ONNX model: ${(error as Error).message}`);
  }
  try {
    assertModelContract(session, path);
  } catch (error) {
    await session.release();
    throw error;
  }
  const name = path.split(/[\\/]/).pop() ?? path;
  const version = `${name}@${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;
  return {
    path,
    version,
    async score(features, rows) {
      if (rows === 0) return new Float32Array(0);
      const input = new ort.Tensor('float32', features.subarray(0, rows * FEATURE_COUNT), [rows, FEATURE_COUNT]);
      const result = await session.run({ [MODEL_INPUT]: input });
      const data = result[MODEL_OUTPUT]?.data;
      if (!(data instanceof Float32Array) || data.length !== rows)
        throw new ModelContractError(`anomaly model ${path}: output ${MODEL_OUTPUT} did not hold one float32 per row`);
      return data;
    },
    release: () => session.release(),
  };
}
