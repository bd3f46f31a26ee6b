/**
 * The project runs on the Node version in .node-version (Node 24 LTS). `npx eaio` and `npm run`
 * start whatever `node` comes first on PATH; when that is an older major and the pinned Node is
 * installed (scripts/node.sh puts it under .local/node/<version>/), the CLI relaunches itself on
 * it, so every eaio process, and every one it spawns through process.execPath, runs on it.
 * Without it the CLI runs on and says once how to install it. Plain JavaScript: this runs before
 * tsx is registered, on any Node the project may meet.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const major = (version) => Number.parseInt(version.replace(/^v/, ''), 10);

/** The exact version in .node-version; undefined where the file is absent (the Docker image). */
export function pinnedNodeVersion() {
  try {
    return readFileSync(join(repoRoot, '.node-version'), 'utf8').trim().replace(/^v/, '');
  } catch {
    return undefined;
  }
}

/** Where scripts/node.sh installs `version`: $EAIO_NODE_DIR, else $EAIO_LOCAL_DIR/node, else .local/node. */
export function pinnedNodePath(version, env = process.env) {
  const dir = env.EAIO_NODE_DIR || join(env.EAIO_LOCAL_DIR || '.local', 'node');
  return join(resolve(repoRoot, dir), version, 'bin', 'node');
}

/**
 * Ctrl-C reaches every process of the terminal's foreground group, the child included: relaying
 * that SIGINT too would make it a second one, which turns a worker's graceful drain into an abort.
 * A SIGINT sent to this process alone (kill -INT, a supervisor without a terminal) is relayed.
 */
function inForegroundOfTerminal() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const [, , pgrp, , , tpgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(tpgid) > 0 && tpgid === pgrp;
  } catch {
    return Boolean(process.stdin.isTTY);
  }
}

/**
 * Runs `node args` with this process's standard streams and environment, relays SIGTERM, SIGHUP
 * and SIGINT to it, and ends like it: the same exit code, or the same signal.
 */
export function relay(node, args, env = process.env) {
  const child = spawn(node, args, { stdio: 'inherit', env });
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal) => {
    if (signal === 'SIGINT' && inForegroundOfTerminal()) return;
    child.kill(signal);
  };
  for (const signal of signals) process.on(signal, forward);
  child.on('error', (error) => {
    console.error(`eaio: could not start ${node}: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (code !== null) process.exit(code);
    for (const s of signals) process.off(s, forward);
    process.kill(process.pid, signal);
    // Reached only if the signal does not end this process (one ignored from the start).
    setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 1000).unref();
  });
  return child;
}

/**
 * When this Node is older than the pinned major and the pinned Node is installed, starts `script`
 * on it with the same Node options and arguments and returns true: this process then only
 * relays. Returns false when the CLI should run here.
 */
export function relaunchOnPinnedNode(script) {
  const pinned = pinnedNodeVersion();
  if (pinned === undefined || major(process.versions.node) >= major(pinned)) return false;
  const node = pinnedNodePath(pinned);
  if (!existsSync(node)) {
    if (!process.env.EAIO_NODE_WARNED) {
      console.error(
        `eaio: running on Node ${process.version} from ${process.execPath}; the project runs on Node ${pinned} ` +
          `and ${node} is missing: \`bash scripts/bootstrap.sh\` (or \`npm test\`) installs it`,
      );
      // Inherited by the processes this one starts, so that they do not repeat it.
      process.env.EAIO_NODE_WARNED = '1';
    }
    return false;
  }
  // Stops a loop should the file there be an older Node (scripts/node.sh checks the version).
  if (realpathSync(node) === process.execPath) return false;
  relay(node, [...process.execArgv, script, ...process.argv.slice(2)]);
  return true;
}
