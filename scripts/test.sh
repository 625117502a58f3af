#!/usr/bin/env bash
# Install, then lint and run the whole test suite (unit tests + the DAG end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
.venv/bin/ruff check .
.venv/bin/snakefmt --check Snakefile rules/  # the workflow formatted (snakemake --lint: tests/test_workflow_lint.py)
.venv/bin/python -m pytest -q "$@"
