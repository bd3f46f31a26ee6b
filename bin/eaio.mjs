#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so that `npx eaio` works without a build step, on the
// project's Node (bin/pinned-node.mjs).
import { fileURLToPath } from 'node:url';
import { dropKafkajsNegativeTimeoutWarning } from './kafkajs-timer-warning.mjs';
import { relaunchOnPinnedNode } from './pinned-node.mjs';

if (!relaunchOnPinnedNode(fileURLToPath(import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  dropKafkajsNegativeTimeoutWarning();
  // `eaio ... | head` closes the pipe early: that is not an error worth a stack trace.
  process.stdout.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const { main } = await import('../cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
