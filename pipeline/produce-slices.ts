/**
 * Produce requests bounded in size, shared by the broker adapters: a whole fetched batch's outputs
 * can exceed the broker's message.max.bytes (1 MiB by default) for one partition.
 */
import type { ProduceRecord } from './broker.js';

/** Bytes of records per produce request: well under the broker's default message.max.bytes. */
export const maxRequestBytes = 512 * 1024;

const byteLength = (v: Buffer | string | null | undefined): number =>
  v === null || v === undefined ? 0 : Buffer.isBuffer(v) ? v.length : Buffer.byteLength(v);

/** Consecutive slices of `records` of at most `limit` bytes each (a larger single record goes alone). */
export function sliceBySize(records: readonly ProduceRecord[], limit: number): ProduceRecord[][] {
  const slices: ProduceRecord[][] = [];
  let current: ProduceRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    let size = byteLength(record.key) + byteLength(record.value) + 64;
    for (const [name, value] of Object.entries(record.headers ?? {})) size += name.length + byteLength(value);
    if (current.length > 0 && bytes + size > limit) {
      slices.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}
