"""Time a study cold on this machine in one Snakemake run (what `scripts/study.sh` does), then the no-op
rerun right after; break the cold run down by phase from the jobs' own logs.

Usage: python benchmarks/study_time.py [--configfile config.yaml] [--cores 2] [--workdir DIR]
A job belongs to the first phase (rules/phases.smk: data, pretraining, continued, finetuning, analysis,
tables) whose dry run lists its rule. Phases overlap in one run (a family's fine-tuning starts while
another still pretrains), so each phase is shown as its jobs, their summed time ("done in" in each
job's log) and the span from its first start to its last end. Prints the breakdown and writes it to
<workdir>/benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

from mtbridge.paths import study_root
from mtbridge.snakemake_runs import run_snakemake
from mtbridge.status import parse_job_stats

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("data", "pretraining", "continued", "finetuning", "analysis", "tables")
STAMP = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO "


def timed_snakemake(workdir: Path, configfile: Path, cores: int, *targets: str) -> float:
    started = time.perf_counter()
    run_snakemake(workdir, *targets, "--configfile", str(configfile), "--cores", str(cores), "--quiet",
                  snakefile=ROOT / "Snakefile", capture=False, check=True)
    return time.perf_counter() - started


def phase_of_rules(workdir: Path, configfile: Path) -> dict[str, str]:
    """Each rule → the first phase whose dry run (from nothing built) lists it."""
    phase_of: dict[str, str] = {}
    for phase in PHASES:
        dry = run_snakemake(workdir, f"phase_{phase}", "-n", "--configfile", str(configfile),
                            snakefile=ROOT / "Snakefile", check=True)
        for rule in parse_job_stats(dry.stdout + dry.stderr):
            phase_of.setdefault(rule, phase)
    return phase_of


def logged_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")


def job_times(log: Path) -> tuple[datetime, datetime, float] | None:
    """(start, end, seconds) of the last completed run logged in one job's log."""
    text = log.read_text(encoding="utf-8", errors="replace")
    starts = re.findall(STAMP + r"start ", text, re.M)
    ends = re.findall(STAMP + r"done in ([\d.]+) s", text, re.M)
    if not starts or not ends:
        return None
    return logged_time(starts[-1]), logged_time(ends[-1][0]), float(ends[-1][1])


def breakdown(logs: Path, phase_of: dict[str, str], started: datetime) -> dict[str, dict[str, float]]:
    """Per phase: jobs, summed job seconds, and its span in seconds after the run started."""
    phases: dict[str, dict[str, float]] = {}
    for log in sorted(logs.rglob("*.log")):
        rule = log.relative_to(logs).parts[0]
        times = job_times(log) if rule in phase_of else None
        if times is None:
            continue
        start, end, seconds = times
        entry = phases.setdefault(phase_of[rule], {"jobs": 0, "job_seconds": 0.0, "first_start": 1e9,
                                                   "last_end": 0.0})
        entry["jobs"] += 1
        entry["job_seconds"] += seconds
        entry["first_start"] = min(entry["first_start"], (start - started).total_seconds())
        entry["last_end"] = max(entry["last_end"], (end - started).total_seconds())
    return {phase: {name: round(value, 1) for name, value in phases[phase].items()}
            for phase in PHASES if phase in phases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configfile", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    arguments = parser.parse_args()
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="mtbridge-study-"))
    workdir.mkdir(parents=True, exist_ok=True)
    configfile = arguments.configfile.resolve()
    phase_of = phase_of_rules(workdir, configfile)
    started = datetime.now()
    cold = timed_snakemake(workdir, configfile, arguments.cores)
    noop = timed_snakemake(workdir, configfile, arguments.cores)
    study = workdir / study_root(yaml.safe_load(configfile.read_text())["study"]["name"])
    phases = breakdown(study / "logs", phase_of, started)
    result = {"cold_seconds": round(cold, 1), "noop_seconds": round(noop, 2), "phases": phases,
              "cores": arguments.cores, "configfile": str(arguments.configfile), "workdir": str(workdir)}
    (workdir / "benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"cold run: {cold / 60:.1f} min ({cold:.0f} s) on {arguments.cores} cores, one Snakemake run; "
          f"no-op rerun: {noop:.1f} s; outputs in {workdir}")
    for phase, entry in phases.items():
        print(f"  {phase:<12} {entry['jobs']:>5.0f} jobs  {entry['job_seconds']:>7.0f} job-s  "
              f"from {entry['first_start']:>5.0f} s to {entry['last_end']:>5.0f} s")


if __name__ == "__main__":
    main()
