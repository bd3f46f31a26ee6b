#!/usr/bin/env bash
# Installs the Node dependencies when they are missing or older than the lockfile, offline-safe:
# onnxruntime-node's postinstall would try to download CUDA files, so it is told to skip.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export ONNXRUNTIME_NODE_INSTALL=skip
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "[bootstrap] installing Node dependencies (npm ci)…" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
