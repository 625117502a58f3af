"""Running Snakemake from Python: the command line, one run, and a copy of the checkout to run it in.

Shared by the tests (tests/snakemake_runner.py), benchmarks/ and ``mtbridge.status``; what Snakemake
prints is read by ``mtbridge.status.parse_job_stats``. Standard library only. The copies take the
checkout's ROOT explicitly: the tests and benchmarks copy the checkout they are in, whichever one the
installed package points at.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from mtbridge.aliases import PathLike

# what Snakemake needs to run the workflow from a fresh folder (the library comes from the venv)
WORKFLOW_FILES = ("Snakefile", "rules", "workflow_scripts", "schemas", "configs", "report", "envs",
                  "config.yaml")


def snakemake_command(*arguments: str, snakefile: PathLike | None = None) -> list[str]:
    """``python -m snakemake [-s SNAKEFILE] ARGUMENTS`` with this interpreter (so the venv's Snakemake)."""
    return [sys.executable, "-m", "snakemake", *(["-s", str(snakefile)] if snakefile is not None else []),
            *arguments]


def run_snakemake(workdir: PathLike, *arguments: str, snakefile: PathLike | None = None,
                  env: Mapping[str, str] | None = None, timeout: float | None = None, capture: bool = True,
                  check: bool = False) -> subprocess.CompletedProcess:
    """``snakemake_command`` run in WORKDIR (text output, captured unless CAPTURE is false)."""
    return subprocess.run(snakemake_command(*arguments, snakefile=snakefile), cwd=workdir,
                          capture_output=capture, text=True, env=None if env is None else dict(env),
                          timeout=timeout, check=check)


def checkout_files(root: PathLike) -> list[str]:
    """The files a fresh clone of the repository at ROOT would hold (tracked and new, not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root, capture_output=True,
                            text=True, check=True).stdout.split()
    return [name for name in listed if (Path(root) / name).is_file()]


def copy_checkout(root: PathLike, target: PathLike) -> None:
    """The project's files at ROOT as a fresh repository would hold them, copied into TARGET."""
    root, target = Path(root), Path(target)
    for name in checkout_files(root):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target / name)


def copy_workflow(root: PathLike, destination: PathLike, files: Sequence[str] = WORKFLOW_FILES) -> Path:
    """FILES of the checkout at ROOT (default WORKFLOW_FILES) in DESTINATION, created if need be."""
    root, destination = Path(root), Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    for name in files:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    return destination
