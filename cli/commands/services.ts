import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.js';

const script = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
const nodeVersionFile = fileURLToPath(new URL('../../.node-version', import.meta.url));

const usage = `Usage: eaio services <up|down|status|env> [postgres|kafka|milvus|prometheus ...]

Installs (when missing), starts and checks the local stack on 127.0.0.1 only.
Data and logs live under .local/ in the repository.

  up       install what is missing, start, wait until ready, print where each listens
  down     stop what \`up\` started
  status   report which Node runs eaio, then each service (exit 1 if any is down)
  env      print export lines: eval "$(eaio services env)"`;

/** The first line of `services status`: the Node that runs eaio, and whether it is older than the project's. */
export function nodeStatusLine(version = process.version, path = process.execPath): string {
  let pinned: string | undefined;
  try {
    pinned = readFileSync(nodeVersionFile, 'utf8').trim();
  } catch {
    pinned = undefined; // the Docker image ships no .node-version; its Node is the pinned major
  }
  const line = `node        ${version} ${path}`;
  if (pinned === undefined || Number.parseInt(version.slice(1), 10) >= Number.parseInt(pinned, 10)) return line;
  return `${line} (older than the project's Node ${pinned}: \`bash scripts/bootstrap.sh\` installs it)`;
}

export const servicesCommand: Command = {
  name: 'services',
  summary: 'install, start, stop and inspect the local stack (PostgreSQL, Kafka, Milvus, Prometheus)',
  usage,
  run(argv) {
    if (argv[0] === 'status') console.log(nodeStatusLine());
    return new Promise((resolve, reject) => {
      const child = spawn('bash', [script, ...argv], { stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  },
};
