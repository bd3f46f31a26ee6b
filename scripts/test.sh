#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs dependencies, starts the real local stack
# (PostgreSQL+PostGIS, Kafka, Milvus Lite, Prometheus on 127.0.0.1), type-checks, then runs
# unit and integration tests against the real services.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
started=$(date +%s)
# Sourced: it puts the pinned Node first on PATH for everything below (scripts/node.sh).
source scripts/bootstrap.sh
echo "[test] Node $(node --version) at $(command -v node)"
echo "[test] starting the local stack (first run installs it; see .local/logs/ on failure)…"
node --max-semi-space-size=64 bin/eaio.mjs services up
echo "[test] type-checking…"
npx tsc --noEmit -p tsconfig.json
echo "[test] lint…"
npx biome check .
mkdir -p .local
results=.local/test-results.json
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
if [ -f "$results" ]; then
  node -e '
    const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  ' "$results"
fi
echo "[test] finished in $(( $(date +%s) - started )) s"
exit "$status"
