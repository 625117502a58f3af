#!/usr/bin/env bash
# Create .venv and install mtbridge with its test tools. Idempotent.
# torch is installed first and pinned to the CPU build unless a torch is already in .venv
# (GPU users: create .venv and install the CUDA build of torch first; this script keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
quiet() { "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    quiet .venv/bin/pip install -q "torch==2.13.0"
fi
quiet .venv/bin/pip install -q -e ".[test]"
# .pyc files halve import time; some machines set PYTHONDONTWRITEBYTECODE
.venv/bin/python -m compileall -q -j 0 .venv/lib > /dev/null 2>&1 || true
.venv/bin/python -c "import torch, transformers, snakemake; print('mtbridge environment ready: torch', torch.__version__, '| transformers', transformers.__version__)"
