#!/usr/bin/env bash
# Install, then run the whole study on the embedded default (CPU, no network).
# Extra arguments go to Snakemake, e.g. `scripts/study.sh --configfile configs/micro.yaml`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
.venv/bin/snakemake --cores "${CORES:-2}" "$@"
