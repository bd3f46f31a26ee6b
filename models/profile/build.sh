#!/usr/bin/env bash
# Rebuilds the profile encoder from a BDG2 directory: day features through the stage's TypeScript
# code, then the fit in Python. Writes models/profile/profile.onnx and models/profile/train-report.json.
#   bash models/profile/build.sh [BDG2_DIR]
# Python: a venv with requirements.txt (default .local/venv-profile; EAIO_PROFILE_PYTHON overrides).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-../shared/data/bdg2}
python=${EAIO_PROFILE_PYTHON:-.local/venv-profile/bin/python}
if [[ ! -x $python ]]; then
  echo "build: no Python at $python; create it: python3 -m venv .local/venv-profile && .local/venv-profile/bin/pip install -r models/profile/requirements.txt" >&2
  exit 1
fi
mkdir -p models/profile/build
echo "build: features of $dir" >&2
bash scripts/node.sh npx tsx models/profile/export-features.ts "$dir" >models/profile/build/features.csv
echo "build: fitting" >&2
"$python" models/profile/train.py models/profile/build/features.csv models/profile
