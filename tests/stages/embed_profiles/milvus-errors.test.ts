import { describe, expect, it } from 'vitest';
import { classifyMilvusError, MilvusCallError } from '../../../stages/embed_profiles/milvus-store.js';
import { labelAgreement, rankBuildings } from '../../../stages/embed_profiles/ranking.js';

describe('Milvus errors', () => {
  it('retries a server that is away or busy', () => {
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
    expect(classifyMilvusError(unavailable)).toBe('retry');
    expect(classifyMilvusError(Object.assign(new Error('deadline'), { code: 4 }))).toBe('retry');
    expect(classifyMilvusError(new Error('connect ECONNREFUSED 127.0.0.1:19530'))).toBe('retry');
    expect(classifyMilvusError(new MilvusCallError('upsert', 'RateLimit', 'rate limit exceeded'))).toBe('retry');
  });

  it('names a row Milvus refuses a bad record, and anything else fatal', () => {
    const dim = new MilvusCallError(
      'upsert',
      '6',
      "FieldData 'embedding' float_vector data has 2 elements, expected num_rows(1) * dim(384) = 384",
    );
    expect(classifyMilvusError(dim)).toBe('bad_record');
    expect(
      classifyMilvusError(new MilvusCallError('upsert', '1100', 'length of varchar field id exceeds max length')),
    ).toBe('bad_record');
    // Milvus Lite 3.2's wording, measured: a site id longer than the field once stopped the worker as fatal.
    expect(
      classifyMilvusError(
        new MilvusCallError('upsert', '6', "VARCHAR field 'site_id' value length 50 exceeds max_length=10"),
      ),
    ).toBe('bad_record');
    expect(classifyMilvusError(new MilvusCallError('createIndex', '65535', 'field embedding does not exist'))).toBe(
      'fatal',
    );
  });
});

describe('building ranking', () => {
  it('scores a building by the mean over query days of its best day, 0 where a query missed it', () => {
    const ranked = rankBuildings(
      [
        [
          { buildingId: 'A', score: 0.9 },
          { buildingId: 'A', score: 0.5 },
          { buildingId: 'B', score: 0.8 },
        ],
        [{ buildingId: 'B', score: 0.7 }],
      ],
      5,
    );
    expect(ranked.map((r) => [r.buildingId, Number(r.score.toFixed(3)), r.matchedDays])).toEqual([
      ['B', 0.75, 2],
      ['A', 0.45, 1],
    ]);
  });

  it('compares top-k label agreement with the chance rate of the same population', () => {
    const labels = new Map([
      ['a1', 'a'],
      ['a2', 'a'],
      ['b1', 'b'],
      ['b2', 'b'],
    ]);
    const perfect = labelAgreement(
      labels,
      new Map([
        ['a1', ['a2']],
        ['a2', ['a1']],
        ['b1', ['b2']],
        ['b2', ['b1']],
      ]),
    );
    expect(perfect.precision).toBe(1);
    expect(perfect.chance).toBeCloseTo(1 / 3, 10);
    expect(perfect.ratio).toBeCloseTo(3, 10);
  });
});
