"""The workflow's own lint: `snakemake --lint` says nothing for each shipped study, and the conda
environment every rule names matches the tested environment (scripts/conda_env.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from snakemake_runner import ROOT, snakemake


@pytest.mark.slow
@pytest.mark.parametrize("configfile", ["config.yaml", "configs/micro.yaml", "configs/paper.yaml"])
def test_snakemake_lint_is_clean(configfile: str) -> None:
    result = snakemake(ROOT, "--lint", "--configfile", configfile, timeout=300)
    assert result.returncode == 0 and "Lints for" not in result.stdout + result.stderr, result.stdout[-3000:]


def test_the_rules_conda_environment_is_the_tested_one() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "conda_env.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
