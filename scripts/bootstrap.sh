#!/usr/bin/env bash
# Puts the project's Node first on PATH (scripts/node.sh: installs the version in .node-version
# when the machine's `node` is older), then installs the Node dependencies when they are missing
# or older than the lockfile, offline-safe: onnxruntime-node's postinstall would try to download
# CUDA files, so it is told to skip. test.sh and demo.sh source this file so that the PATH holds
# for what they run next; run on its own (`bash scripts/bootstrap.sh`) it installs both.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/node.sh
source "$repo/scripts/node.sh"
use_pinned_node
export ONNXRUNTIME_NODE_INSTALL=skip
stamp=node_modules/.package-lock.json
if [ -L node_modules ]; then
  # A linked tree (a git worktree sharing the main checkout's) belongs to that checkout: npm ci
  # here would empty it under everyone who uses it.
  if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    echo "[bootstrap] node_modules is a link: not running npm ci; update it in the checkout it points to" >&2
  fi
elif [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "[bootstrap] installing Node dependencies (npm ci)…" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
