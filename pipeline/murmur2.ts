/**
 * Kafka's murmur2 key hash (Java client `Utils.murmur2`, seed 0x9747b28c), as every Kafka client
 * and Redpanda partition keys, written with 32-bit integer math. kafkajs's own version goes through
 * a 64-bit Long emulation and was the largest single cost of producing in our profiles.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4] as number) |
      ((data[i4 + 1] as number) << 8) |
      ((data[i4 + 2] as number) << 16) |
      ((data[i4 + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  switch (length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the tail bytes fall through, as in the reference
    case 3:
      h ^= (data[tail + 2] as number) << 16;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: as above
    case 2:
      h ^= (data[tail + 1] as number) << 8;
    case 1:
      h ^= data[tail] as number;
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a key. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
