#!/usr/bin/env bash
# The main job on the local stack from a fresh clone: dependencies, services, then `eaio demo`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# Sourced: it puts the pinned Node first on PATH (scripts/node.sh).
source scripts/bootstrap.sh
exec node --max-semi-space-size=64 bin/eaio.mjs demo "$@"
