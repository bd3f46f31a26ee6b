/**
 * The profile encoder behind an ONNX session (models/profile/MODEL_CARD.md): input `features`
 * float32 [N, FEATURE_COUNT] (NaN = weather not observed), output `embedding` float32 [N, 384],
 * L2-normalised. The contract is checked once when the model is opened.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { InferenceSession as Session } from 'onnxruntime-node';
import { resolveModelPath } from '../shared/model-path.js';
import { FEATURE_COUNT } from './features.js';

export const EMBEDDING_DIM = 384;
const INPUT = 'features';
const OUTPUT = 'embedding';

export class EncoderContractError extends Error {
  override name = 'EncoderContractError';
}

export interface ProfileEncoder {
  readonly path: string;
  /** `<file name>@<sha256 prefix>`: names the exact model that made a vector. */
  readonly version: string;
  /** Encodes rows × FEATURE_COUNT features (row-major) into rows × EMBEDDING_DIM. */
  encode(features: Float32Array, rows: number): Promise<Float32Array>;
  release(): Promise<void>;
}

type Metadata = Session['inputMetadata'][number];
const fixedDim = (m: Metadata | undefined, dim: number): boolean =>
  m?.isTensor === true && m.type === 'float32' && m.shape.length === 2 && m.shape[1] === dim;

export async function loadProfileEncoder(path: string): Promise<ProfileEncoder> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new EncoderContractError(
      `profile encoder ${path} cannot be read (${code ?? String(error)}): set EAIO_EMBED_PROFILES_MODEL to an ONNX file (models/profile/profile.onnx)`,
    );
  }
  const ort = await import('onnxruntime-node');
  let session: Session;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  } catch (error) {
    throw new EncoderContractError(`profile encoder ${path} is not a loadable ONNX model: ${(error as Error).message}`);
  }
  const input = session.inputMetadata.find((m) => m.name === INPUT);
  const output = session.outputMetadata.find((m) => m.name === OUTPUT);
  if (!fixedDim(input, FEATURE_COUNT) || !fixedDim(output, EMBEDDING_DIM)) {
    await session.release();
    throw new EncoderContractError(
      `profile encoder ${path} does not match the contract (models/profile/MODEL_CARD.md): expected ${INPUT}: float32[N, ${FEATURE_COUNT}] -> ${OUTPUT}: float32[N, ${EMBEDDING_DIM}]`,
    );
  }
  const name = path.split(/[\\/]/).pop() ?? path;
  return {
    path,
    version: `${name}@${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`,
    async encode(features, rows) {
      if (rows === 0) return new Float32Array(0);
      const tensor = new ort.Tensor('float32', features.subarray(0, rows * FEATURE_COUNT), [rows, FEATURE_COUNT]);
      const data = (await session.run({ [INPUT]: tensor }))[OUTPUT]?.data;
      if (!(data instanceof Float32Array) || data.length !== rows * EMBEDDING_DIM)
        throw new EncoderContractError(
          `profile encoder ${path}: output ${OUTPUT} is not ${EMBEDDING_DIM} floats per row`,
        );
      return data;
    },
    release: () => session.release(),
  };
}

/** The committed encoder, relative to the EAIO installation (resolveModelPath). */
export const COMMITTED_PROFILE_MODEL = 'models/profile/profile.onnx';
export const DEFAULT_PROFILE_MODEL = resolveModelPath(COMMITTED_PROFILE_MODEL);
