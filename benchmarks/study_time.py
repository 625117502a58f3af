"""Time a study cold on this machine, phase by phase, then the no-op rerun right after.

Usage: python benchmarks/study_time.py [--configfile config.yaml] [--cores 2] [--workdir DIR]
Runs the DVC stages' phase targets in order (data, pretraining, continued, finetuning, analysis,
tables; rules/phases.smk), then the whole study (nothing should be left) and a no-op rerun. Jobs of
a later phase cannot start early, so the sum is a slight overestimate of one `snakemake` run.
Prints the breakdown and writes it to <workdir>/benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from mtbridge.snakemake_runs import run_snakemake

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("phase_data", "phase_pretraining", "phase_continued", "phase_finetuning", "phase_analysis",
          "phase_tables")


def timed_snakemake(workdir: Path, configfile: Path, cores: int, *targets: str) -> float:
    started = time.perf_counter()
    run_snakemake(workdir, *targets, "--configfile", str(configfile), "--cores", str(cores), "--quiet",
                  snakefile=ROOT / "Snakefile", capture=False, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configfile", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    arguments = parser.parse_args()
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="mtbridge-study-"))
    workdir.mkdir(parents=True, exist_ok=True)
    configfile = arguments.configfile.resolve()
    phases = {phase: round(timed_snakemake(workdir, configfile, arguments.cores, phase), 1)
              for phase in PHASES}
    phases["rest"] = round(timed_snakemake(workdir, configfile, arguments.cores), 1)
    cold = sum(phases.values())
    noop = timed_snakemake(workdir, configfile, arguments.cores)
    result = {"cold_seconds": round(cold, 1), "phases_seconds": phases, "noop_seconds": round(noop, 2),
              "cores": arguments.cores, "configfile": str(arguments.configfile), "workdir": str(workdir)}
    (workdir / "benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    breakdown = ", ".join(f"{phase.removeprefix('phase_')} {seconds:.0f} s"
                          for phase, seconds in phases.items())
    print(f"cold run: {cold / 60:.1f} min ({cold:.0f} s) on {arguments.cores} cores ({breakdown}); "
          f"no-op rerun: {noop:.1f} s; outputs in {workdir}")


if __name__ == "__main__":
    main()
