import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Mirrors WEIGHTS/BIAS in models/tiny/make_tiny.py; all are exact in float32, so equality holds.
const W = [0.5, -2.0] as const;
const B = 1.25;
const MODEL = fileURLToPath(new URL('../../models/tiny/linear2.onnx', import.meta.url));

const expected = (a: number, b: number): number => a * W[0] + b * W[1] + B;

describe('onnxruntime-node smoke (models/tiny/linear2.onnx)', () => {
  let session: InferenceSession;

  beforeAll(async () => {
    session = await InferenceSession.create(MODEL, { executionProviders: ['cpu'] });
  });

  afterAll(async () => {
    await session?.release();
  });

  it('exposes the committed graph signature', () => {
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
  });

  it('computes y = x·W + b for a batch', async () => {
    const rows: Array<[number, number]> = [
      [0, 0],
      [1, 0],
      [0, 1],
      [2, 3],
      [-4, 0.25],
      [1024, -512],
    ];
    const x = new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 2]);
    const { y } = await session.run({ x });

    expect(y).toBeDefined();
    expect(y?.type).toBe('float32');
    expect(y?.dims).toEqual([rows.length, 1]);
    expect(Array.from(y?.data as Float32Array)).toEqual(rows.map(([a, b]) => expected(a, b)));
  });

  // The worker stages load models from bytes read at startup, not only from a path.
  it('loads from a buffer and handles a batch of one', async () => {
    const fromBytes = await InferenceSession.create(readFileSync(MODEL));
    try {
      const x = new Tensor('float32', Float32Array.from([3, -1]), [1, 2]);
      const { y } = await fromBytes.run({ x });
      expect(Array.from(y?.data as Float32Array)).toEqual([expected(3, -1)]);
    } finally {
      await fromBytes.release();
    }
  });

  it('rejects an input with the wrong feature count', async () => {
    const x = new Tensor('float32', Float32Array.from([1, 2, 3]), [1, 3]);
    await expect(session.run({ x })).rejects.toThrow();
  });
});
