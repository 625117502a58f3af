"""Time the default study cold on this machine, then the no-op rerun right after.

Usage: python benchmarks/study_time.py [--configfile config.yaml] [--cores 2] [--workdir DIR]
Prints the wall time of both runs and writes them to <workdir>/benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed_snakemake(workdir: Path, configfile: Path, cores: int) -> float:
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--configfile",
               str(configfile), "--cores", str(cores), "--quiet"]
    started = time.perf_counter()
    subprocess.run(command, cwd=workdir, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configfile", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    arguments = parser.parse_args()
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="mtbridge-study-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cold = timed_snakemake(workdir, arguments.configfile.resolve(), arguments.cores)
    noop = timed_snakemake(workdir, arguments.configfile.resolve(), arguments.cores)
    result = {"cold_seconds": round(cold, 1), "noop_seconds": round(noop, 2), "cores": arguments.cores,
              "configfile": str(arguments.configfile), "workdir": str(workdir)}
    (workdir / "benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"cold run: {cold / 60:.1f} min ({cold:.0f} s) on {arguments.cores} cores; "
          f"no-op rerun: {noop:.1f} s; outputs in {workdir}")


if __name__ == "__main__":
    main()
