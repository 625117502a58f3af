#!/usr/bin/env bash
# The GPU check: the mBART-50-sized path end to end on stand-in weights in bfloat16, one line per phase
# (benchmarks/gpu_check.py; arguments pass through, e.g. --output gpu_check.json). Installs nothing:
# it runs the Python of .venv (scripts/install.sh; on a GPU machine with the CUDA build of torch, see
# the README), or $PYTHON if set.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
if [ ! -x "$PYTHON" ] && ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "gpu_check.sh: no Python at $PYTHON; run scripts/install.sh first, or set PYTHON" >&2
    exit 2
fi
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
exec "$PYTHON" benchmarks/gpu_check.py "$@"
