"""Time what a colleague waits for: `dvc pull` of a whole study from a local remote into a fresh clone
plus the up-to-date check (scripts/pull.sh), and `snakemake -n` on the result.

Usage: python benchmarks/share_time.py --workdir DIR [--configfile config.yaml]
The first run copies this checkout into DIR/origin, reproduces the study there with `dvc repro`
(the default config: about 13 minutes on 2 cores) and pushes it to DIR/remote; later runs reuse them.
Each run then clones DIR/origin afresh and prints the wall time of each step. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from pathlib import Path

import yaml

from mtbridge.snakemake_runs import copy_checkout

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}


def run(cwd: Path, *command: str) -> float:
    """Wall seconds of ``command``, which must succeed."""
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, env=ENVIRONMENT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def git(cwd: Path, *arguments: str) -> None:
    run(cwd, "git", "-c", "user.name=benchmark", "-c", "user.email=benchmark@localhost", *arguments)


def publish(origin: Path, remote: Path, configfile: Path) -> None:
    """Copy the checkout, reproduce the study, push it to ``remote`` and commit the lock file."""
    copy_checkout(ROOT, origin)
    config = yaml.safe_load(configfile.read_text())
    config["study"]["name"] = "default"  # the study dvc.yaml tracks
    (origin / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    git(origin, "init", "-q")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "study")
    print(f"dvc repro: {run(origin, 'dvc', 'repro', '-q'):.0f} s", flush=True)
    run(origin, "dvc", "remote", "add", "-d", "shared", str(remote))
    run(origin, "dvc", "remote", "modify", "shared", "verify", "true")
    print(f"dvc push: {run(origin, 'dvc', 'push', '-q'):.1f} s", flush=True)
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "results")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--configfile", type=Path, default=ROOT / "config.yaml")
    arguments = parser.parse_args()
    workdir = arguments.workdir.resolve()
    origin, remote, colleague = workdir / "origin", workdir / "remote", workdir / "colleague"
    if not (origin / "dvc.lock").exists():
        shutil.rmtree(origin, ignore_errors=True)
        origin.mkdir(parents=True)
        publish(origin, remote, arguments.configfile.resolve())
    shutil.rmtree(colleague, ignore_errors=True)
    run(workdir, "git", "clone", "-q", str(origin), str(colleague))
    (colleague / ".venv").symlink_to(ROOT / ".venv")
    artifacts = sum(1 for _ in colleague.rglob("*"))
    pull = run(colleague, "bash", "scripts/pull.sh", "-q")
    files = sum(1 for _ in colleague.rglob("*")) - artifacts
    dry_run = run(colleague, "snakemake", "-n", "--quiet")
    print(f"fresh clone: dvc pull + up-to-date check (scripts/pull.sh): {pull:.1f} s for {files} files")
    print(f"snakemake -n with everything up to date: {dry_run:.1f} s")


if __name__ == "__main__":
    main()
