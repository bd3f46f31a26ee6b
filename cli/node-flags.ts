/**
 * V8 flags every eaio process starts with. V8 caps the young generation's semi-space at 16 MiB by
 * default; a worker holds whole fetched batches (thousands of readings each) until their rows are
 * written, so at that size most of them survive a scavenge and are copied again and again, and a
 * replay at max speed churns through encoded records just as fast. 64 MiB lets them die young.
 * Measured with `eaio bench ingest` in alternating A/B runs: about +10 % readings/s end to end,
 * for at most ~150 MiB more memory per process. Flags only work at process start, so they are
 * repeated where processes start: package.json's scripts, scripts/*.sh, the Dockerfile
 * (NODE_OPTIONS) and every spawn of bin/eaio.mjs; tests/unit/node-flags.test.ts checks that they
 * agree. Not the shebang: `env -S` is missing from BusyBox and older coreutils, so `npx eaio`
 * runs with Node's defaults unless NODE_OPTIONS carries the flag (the README says so). Nor the
 * benchmarks' own process (`npm run bench*`): it measures the COPY ceiling, which ran ~3 % slower
 * with these flags, and a lower ceiling would flatter the ratio.
 */
export const EAIO_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
