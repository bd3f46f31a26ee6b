#!/usr/bin/env bash
# Rebuilds the anomaly model from the data: features through the TypeScript feature code, then
# training in Python. Writes models/anomaly/anomaly.onnx, models/anomaly/lobo/<building>.onnx and
# models/anomaly/train-report.json.
#   bash models/anomaly/build.sh [LEAD.csv] [METADATA.csv]
# Python: a venv with requirements.txt (default .local/venv-anomaly; EAIO_ANOMALY_PYTHON overrides).
set -euo pipefail
cd "$(dirname "$0")/../.."
lead=${1:-../shared/data/bdg2/lead/train.csv}
metadata=${2:-../shared/data/bdg2/metadata.csv}
python=${EAIO_ANOMALY_PYTHON:-.local/venv-anomaly/bin/python}
if [[ ! -x $python ]]; then
  echo "build: no Python at $python; create it: python3 -m venv .local/venv-anomaly && .local/venv-anomaly/bin/pip install -r models/anomaly/requirements.txt" >&2
  exit 1
fi
mkdir -p models/anomaly/build
echo "build: features of $lead" >&2
bash scripts/node.sh npx tsx models/anomaly/export-features.ts "$lead" "$metadata" >models/anomaly/build/features.csv
echo "build: training" >&2
"$python" models/anomaly/train.py models/anomaly/build/features.csv models/anomaly
