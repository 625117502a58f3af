#!/usr/bin/env bash
# Create the venv (.venv, or $MTBRIDGE_VENV) and install mtbridge with its test tools at the locked
# versions. Idempotent. torch comes first, pinned to the CPU build (requirements/torch.txt), unless a
# torch is already there (GPU users: create the venv and install the CUDA build of torch first; this
# script keeps it). Then every other package exactly as requirements/lock.txt pins it, each file
# checked against the lock's hashes, and no resolver: the lock is the whole environment.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${MTBRIDGE_VENV:-.venv}
quiet() { "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    quiet "$VENV/bin/pip" install -q -r requirements/torch.txt
fi
quiet "$VENV/bin/pip" install -q --require-hashes --no-deps -r requirements/lock.txt
# mtbridge itself, built with the locked setuptools
quiet "$VENV/bin/pip" install -q --no-deps --no-build-isolation -e .
"$VENV/bin/python" -m mtbridge.environment --check-lock requirements/lock.txt  # what CI checks
"$VENV/bin/pip" check > /dev/null || { "$VENV/bin/pip" check >&2; exit 1; }  # e.g. a GPU torch's needs
# .pyc files halve import time; some machines set PYTHONDONTWRITEBYTECODE
"$VENV/bin/python" -m compileall -q -j 0 "$VENV/lib" > /dev/null 2>&1 || true
"$VENV/bin/python" -c "import torch, transformers, snakemake; print('mtbridge environment ready: torch', torch.__version__, '| transformers', transformers.__version__)"
