import { describe, expect, it } from 'vitest';
import { FlushPolicy, serverKind } from '../../../stages/embed_profiles/flush.js';

describe('Milvus flush policy', () => {
  it('tells Milvus Lite from Milvus standalone by the version string', () => {
    expect(serverKind('milvus_lite-3.2.2')).toBe('milvus-lite');
    expect(serverKind('v2.3.9')).toBe('milvus');
    expect(serverKind('v2.3.5-lite')).toBe('milvus');
    expect(serverKind('2.6.11')).toBe('milvus');
    expect(serverKind('unknown')).toBe('milvus');
  });

  it('flushes a collection once the rows written into it since its last flush reach the threshold', async () => {
    const flushed: string[] = [];
    const policy = new FlushPolicy(async (c) => void flushed.push(c), 2_000);
    expect(await policy.wrote('p', 1_500)).toBe(false);
    expect(await policy.wrote('s', 1)).toBe(false);
    expect(await policy.wrote('p', 499)).toBe(false);
    expect(policy.unflushed('p')).toBe(1_999);
    expect(await policy.wrote('p', 1)).toBe(true);
    expect(flushed).toEqual(['p']);
    expect(policy.unflushed('p')).toBe(0);
    expect(policy.unflushed('s')).toBe(1);
    await policy.flushAll();
    expect(flushed).toEqual(['p', 's']);
    expect(policy.unflushed('s')).toBe(0);
  });

  it('keeps the count after a failed flush, so the next write tries again', async () => {
    let fail = true;
    const flushed: string[] = [];
    const policy = new FlushPolicy(async (c) => {
      if (fail) throw new Error('Milvus flush failed (Unexpected): disk full');
      flushed.push(c);
    }, 10);
    await expect(policy.wrote('p', 10)).rejects.toThrow(/disk full/);
    expect(policy.unflushed('p')).toBe(10);
    fail = false;
    expect(await policy.wrote('p', 1)).toBe(true);
    expect(flushed).toEqual(['p']);
  });

  it('never flushes with a threshold of 0 (Milvus standalone)', async () => {
    const policy = new FlushPolicy(async () => {
      throw new Error('must not be called');
    }, 0);
    expect(await policy.wrote('p', 1_000_000)).toBe(false);
    await policy.flushAll();
    expect(policy.unflushed('p')).toBe(1_000_000);
  });
});
