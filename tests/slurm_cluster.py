"""Helpers for the SLURM tests: a real one-node cluster (scripts/slurm_cluster.sh) and Snakemake runs.

Imported by tests/test_slurm.py; no fixtures here, so pytest collects nothing from this file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import snakemake_runner as runner
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "slurm_cluster.sh"
SLURM_PROFILE = ROOT / "profiles" / "slurm"
LOCAL_PROFILE = ROOT / "profiles" / "default"
SLURM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by mtbridge scripts/slurm_cluster.sh"
# the folders whose every file must come out the same on both executors
ARTIFACT_FOLDERS = ("data", "results", "metrics", "predictions", "analysis")

# Polling as fast as the plugin allows (it still waits 10 s longer after each poll in which no job
# finished); squeue instead of sacct, as this cluster has no accounting daemon.
FAST_POLLING = (
    "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "1",
    "--seconds-between-status-checks", "1",
    "--max-status-checks-per-second", "10",
)
FAKE_GPUS = {"MTBRIDGE_SLURM_FAKE_GPUS": "2"}  # stand-in GPUs, so that --gpus requests get scheduled
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")


def cluster_unavailable_reason() -> str | None:
    """Why this machine cannot host the test cluster, or None when it can."""
    if not sys.platform.startswith("linux"):
        return "the SLURM test cluster needs Linux"
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        if sudo is None or subprocess.run([sudo, "-n", "true"], capture_output=True).returncode != 0:
            return "not root and no passwordless sudo: cannot install or start SLURM"
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        return "SLURM is not installed and apt-get is not available to install it"
    if SLURM_CONF.exists() and MARKER not in SLURM_CONF.read_text(errors="replace"):
        return f"{SLURM_CONF} belongs to a real SLURM installation; not touching it"
    return None


def cluster_script(subcommand: str, *, timeout: float = 600,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run scripts/slurm_cluster.sh SUBCOMMAND; raise with its output when it fails."""
    result = subprocess.run(["bash", str(SCRIPT), subcommand], capture_output=True, text=True,
                            timeout=timeout, env={**os.environ, **(env or {})})
    if result.returncode != 0 and subcommand != "status":
        raise RuntimeError(f"slurm_cluster.sh {subcommand} failed (exit {result.returncode}):\n"
                           f"{result.stdout}{result.stderr}")
    return result


@dataclass
class Cluster:
    """The running test cluster and what it cost to get it."""

    install_s: float = 0.0
    start_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @staticmethod
    def squeue(*arguments: str) -> str:
        return subprocess.run(["squeue", "-h", *arguments], capture_output=True, text=True,
                              check=True).stdout


def start_cluster(env: dict[str, str] | None = None) -> Cluster:
    cluster = Cluster()
    started = time.perf_counter()
    cluster_script("install", env=env)
    cluster.install_s = time.perf_counter() - started
    started = time.perf_counter()
    cluster_script("start", timeout=120, env=env)
    cluster.start_s = time.perf_counter() - started
    return cluster


def stop_cluster(env: dict[str, str] | None = None) -> None:
    cluster_script("stop", timeout=120, env=env)


def snakemake_env() -> dict[str, str]:
    return {**os.environ, "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_VERBOSITY": "error"}


@dataclass
class Run:
    workdir: Path
    result: subprocess.CompletedProcess
    seconds: float

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    @property
    def study(self) -> Path:
        """The micro study's own root under the folder Snakemake ran from."""
        return self.workdir / "studies" / "micro"


def snakemake(workdir: Path, *arguments: str, timeout: float = 900) -> Run:
    """``python -m snakemake ARGUMENTS`` in WORKDIR with the test environment; timed."""
    started = time.perf_counter()
    result = runner.snakemake(workdir, *arguments, env=snakemake_env(), timeout=timeout)
    return Run(workdir, result, time.perf_counter() - started)


def artifact_files(workdir: Path) -> list[str]:
    """Every file of the ARTIFACT_FOLDERS and every checkpoint's weights, relative to WORKDIR."""
    files = [path for folder in ARTIFACT_FOLDERS for path in (workdir / folder).rglob("*") if path.is_file()]
    files += (workdir / "checkpoints").rglob("model.safetensors")
    return sorted(str(path.relative_to(workdir)) for path in files)


def digests(workdir: Path, files: list[str]) -> dict[str, str]:
    return {name: hashlib.sha256((workdir / name).read_bytes()).hexdigest() for name in files}


def submitted_jobs(output: str) -> dict[int, str]:
    """SLURM job id -> its SLURM log path, from the lines the plugin logs at submission."""
    return {int(match.group(1)): match.group(2) for match in SUBMITTED.finditer(output)}


def submitted_rules(output: str) -> Counter:
    """How many SLURM jobs each rule (or group, as ``group_<name>``) was submitted as."""
    counts: Counter = Counter()
    for log in submitted_jobs(output).values():
        part = Path(log).parts[Path(log).parts.index("slurm_logs") + 1]
        counts[part.removeprefix("rule_")] += 1
    return counts


def run_uuid(output: str) -> str:
    match = re.search(r"SLURM run ID: (\S+)", output)
    assert match, "the SLURM plugin did not log its run id"
    return match.group(1)


# The micro study cut to what fits a couple of minutes on 2 cores, still one job of every rule:
# one model with a continued objective, one task, two languages (and one pretraining seed: see
# shrunken_workflow; `--config` would pass a list's numbers as strings).
SHRINK = (
    'study={"models": ["mbart"], "tasks": ["topic"], "languages": ["en", "isolate"]}',
    'models={"mbart": {"objectives": ["source", "mt-o2m"]}}',
)


def shrunken_workflow(destination: Path) -> Path:
    """The workflow in DESTINATION, its micro config cut to one pretraining seed."""
    workdir = runner.copy_workflow(destination)
    micro_config = workdir / "configs" / "micro.yaml"
    raw = yaml.safe_load(micro_config.read_text())
    raw["study"]["pretraining_seeds"] = [1]
    micro_config.write_text(yaml.safe_dump(raw, sort_keys=False))
    return workdir


def micro(workdir: Path, *arguments: str, config: tuple[str, ...] = ()) -> Run:
    """The shrunken micro study in WORKDIR; CONFIG adds `--config` entries (one `--config` only:
    a second one would replace the first)."""
    return snakemake(workdir, "--configfile", "configs/micro.yaml", *arguments, "--config", *SHRINK, *config,
                     timeout=1200)


def on_slurm(workdir: Path, *arguments: str, profile: Path = SLURM_PROFILE) -> Run:
    """The shrunken micro study in WORKDIR on the test cluster, through PROFILE."""
    # `--cores 1`: a group job (the profile's groups) takes one of the node's two CPUs, not both.
    # `--config` replaces the profile's `config:` list: warm_workers=False again.
    return micro(workdir, "--workflow-profile", str(profile), "--executor", "slurm", "--cores", "1",
                 *FAST_POLLING, *arguments, config=("warm_workers=False",))
