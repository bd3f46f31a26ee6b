import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from '../../pipeline/murmur2.js';

// kafkajs's own (Java-compatible) implementation is the reference.
const reference = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer,
) => number;

describe('murmur2', () => {
  it('equals the Java-compatible reference for keys of every tail length and content', () => {
    let seed = 42;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) | 0;
      return (seed >>> 16) & 0xff;
    };
    for (let length = 0; length < 64; length++) {
      for (let n = 0; n < 20; n++) {
        const key = Buffer.from(Array.from({ length }, next));
        expect(murmur2(key)).toBe(reference(key));
      }
    }
    for (const text of ['Panther_office_Karla:electricity', 'Rat_education_Beverly:electricity', 'Panther', 'ü€😀']) {
      expect(murmur2(Buffer.from(text))).toBe(reference(Buffer.from(text)));
    }
  });

  it('maps keys to partitions like the Java default partitioner', () => {
    // Java: Utils.toPositive(Utils.murmur2(keyBytes)) % numPartitions.
    for (const key of ['a', 'b', 'meter-1', 'meter-2']) {
      expect(partitionForKey(Buffer.from(key), 6)).toBe((reference(Buffer.from(key)) & 0x7fffffff) % 6);
    }
  });
});
