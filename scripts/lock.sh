#!/usr/bin/env bash
# Refresh requirements/lock.txt: every package of `mtbridge[test]` but torch, at an exact version with
# the sha256 of each of its files on PyPI, for Python 3.11 on x86-64 Linux, resolved against the CPU
# torch of requirements/torch.txt (so torch's CUDA packages stay out). Versions already locked are kept
# while pyproject.toml allows them; `scripts/lock.sh --upgrade` (or `--upgrade-package numpy`) moves
# them. Then review the diff, run scripts/test.sh, commit.
# The CPU torch wheel's metadata comes from TORCH_FIND_LINKS (default: pip's find-links here,
# PIP_FIND_LINKS); elsewhere, a folder holding torch-2.13.0+cpu from https://download.pytorch.org/whl/cpu.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${LOCK_TOOLS:-.venv-lock}
TORCH_FIND_LINKS=${TORCH_FIND_LINKS:-${PIP_FIND_LINKS:?set TORCH_FIND_LINKS to a folder with the CPU torch wheel}}
[ -x "$TOOLS/bin/uv" ] || { python3 -m venv "$TOOLS" && "$TOOLS/bin/pip" install -q uv==0.13.8; }
"$TOOLS/bin/uv" pip compile pyproject.toml requirements/torch.txt --extra test --generate-hashes \
    --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --find-links "$TORCH_FIND_LINKS" \
    --no-emit-package torch --custom-compile-command scripts/lock.sh --quiet -o requirements/lock.txt "$@"
if grep -qE '^(nvidia-|triton==)' requirements/lock.txt; then
    echo "lock.sh: CUDA packages in the lock: torch resolved to a CUDA build (see TORCH_FIND_LINKS)" >&2
    exit 1
fi
