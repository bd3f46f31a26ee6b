#!/usr/bin/env bash
# A/B of two commits on the ingest benchmark, in alternating runs (this machine's speed drifts by
# ±15 % within minutes, so back-to-back sets of runs cannot be compared). Each commit is checked out
# in a throw-away worktree sharing this repo's node_modules; the local services must be up.
set -euo pipefail
usage() {
  cat <<'TEXT'
Usage: bash scripts/bench/ab.sh REF_A REF_B [ROUNDS] [concurrent|backlog]

Runs `eaio bench ingest --mode chain --replay <timing>` alternately at REF_A and REF_B, ROUNDS
times each (default 4, timing concurrent), and prints each run's ratio to the COPY ceiling.
Environment: ENV_A / ENV_B are extra VAR=value words for the runs of A / B (e.g.
ENV_B=NODE_OPTIONS=--max-semi-space-size=64 with REF_A = REF_B); BDG2_DIR (default ../shared/data/bdg2).
Start the services first: npx eaio services up.
TEXT
}
if [[ $# -lt 2 || $1 == --help || $1 == -h ]]; then usage; [[ $# -ge 2 ]] && exit 0 || exit 2; fi
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ref_a=$1 ref_b=$2 rounds=${3:-4} timing=${4:-concurrent}
data="$(cd "${BDG2_DIR:-$repo/../shared/data/bdg2}" && pwd)" || { echo "no BDG2 data: set BDG2_DIR" >&2; exit 2; }
work="$(mktemp -d)"
cleanup() { git -C "$repo" worktree remove --force "$work/a" 2>/dev/null || true; git -C "$repo" worktree remove --force "$work/b" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for v in a b; do
  ref=$ref_a; [[ $v == b ]] && ref=$ref_b
  git -C "$repo" worktree add -q --detach "$work/$v" "$ref"
  ln -s "$repo/node_modules" "$work/$v/node_modules"
done
for round in $(seq 1 "$rounds"); do
  for v in a b; do
    extra=${ENV_A:-}; [[ $v == b ]] && extra=${ENV_B:-}
    ratio=$(cd "$work/$v" && env $extra node bin/eaio.mjs bench ingest --mode chain --replay "$timing" --bdg2 "$data" 2>/dev/null |
      sed -n 's/^ratio .*COPY: \([0-9.]*\) %.*/\1/p')
    echo "round $round of $rounds  ${v^^}  ${ratio:-failed} %"
  done
done
