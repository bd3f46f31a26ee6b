import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.js';

const script = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));

const usage = `Usage: eaio services <up|down|status|env> [postgres|kafka|milvus|prometheus ...]

Installs (when missing), starts and checks the local stack on 127.0.0.1 only.
Data and logs live under .local/ in the repository.

  up       install what is missing, start, wait until ready, print where each listens
  down     stop what \`up\` started
  status   report each service (exit 1 if any is down)
  env      print export lines: eval "$(eaio services env)"`;

export const servicesCommand: Command = {
  name: 'services',
  summary: 'install, start, stop and inspect the local stack (PostgreSQL, Kafka, Milvus, Prometheus)',
  usage,
  run(argv) {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', [script, ...argv], { stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  },
};
