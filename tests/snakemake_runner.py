"""Running Snakemake in tests: one runner, one reader of its ``Job stats``, one copy of the workflow.

A thin layer over mtbridge.snakemake_runs (shared with benchmarks/) and mtbridge.status.parse_job_stats,
with the tests' defaults: this checkout, Python warnings off, output captured, a timeout. No fixtures
here, so pytest collects nothing from this file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mtbridge import snakemake_runs
from mtbridge.aliases import PathLike
from mtbridge.snakemake_runs import WORKFLOW_FILES, snakemake_command
from mtbridge.status import parse_job_stats

__all__ = ["ROOT", "SNAKEFILE", "WORKFLOW_FILES", "chromium", "copy_checkout", "copy_workflow", "environment",
           "planned_jobs", "rendered_dom", "snakemake", "snakemake_command"]

ROOT = Path(__file__).resolve().parent.parent
SNAKEFILE = ROOT / "Snakefile"
# the workflow with its profiles: profiles/default beside the Snakefile is the default profile
WORKFLOW_WITH_PROFILES = (*WORKFLOW_FILES, "profiles")


def environment(**extra: str) -> dict[str, str]:
    """This process's environment with Python warnings off, plus EXTRA."""
    return {**os.environ, "PYTHONWARNINGS": "ignore", **extra}


def snakemake(workdir: PathLike, *arguments: str, snakefile: PathLike | None = None,
              env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m snakemake [-s SNAKEFILE] ARGUMENTS`` in WORKDIR, output captured; ENV defaults to
    ``environment()``."""
    return snakemake_runs.run_snakemake(workdir, *arguments, snakefile=snakefile,
                                        env=environment() if env is None else env, timeout=timeout)


def planned_jobs(output: str | subprocess.CompletedProcess) -> dict[str, int]:
    """Jobs per rule in the first ``Job stats`` table of a run's output (stdout and stderr of a
    CompletedProcess); an empty dict when there is none (``Nothing to be done``)."""
    if isinstance(output, subprocess.CompletedProcess):
        output = (output.stdout or "") + (output.stderr or "")
    return parse_job_stats(output)


def copy_workflow(destination: Path, profiles: bool = False) -> Path:
    """This checkout's workflow files (and its profiles/ with PROFILES) in a fresh working directory."""
    files = WORKFLOW_WITH_PROFILES if profiles else WORKFLOW_FILES
    return snakemake_runs.copy_workflow(ROOT, destination, files)


def copy_checkout(target: Path) -> None:
    """This checkout's files as a fresh clone would hold them (tracked and new, not ignored)."""
    snakemake_runs.copy_checkout(ROOT, target)


def chromium() -> str:
    """Debian's Chromium, installed with apt-get when missing (as root, or with passwordless sudo)."""
    found = shutil.which("chromium")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if sudo and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("no chromium, and neither root nor passwordless sudo to install it")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]
    for command in (["apt-get", "update", "-qq"], install):
        subprocess.run([*sudo, *command], check=True, capture_output=True, env=environment, timeout=900)
    return shutil.which("chromium") or pytest.fail("apt-get installed chromium, but it is not on PATH")


def rendered_dom(browser: str, page: Path, profile: Path) -> str:
    """PAGE's DOM after its scripts ran, from headless Chromium (no network, a throwaway profile)."""
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000",
         f"--user-data-dir={profile / 'chromium'}", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout, result.stderr[-2000:]
    return result.stdout
