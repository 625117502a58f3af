"""SLURM submissions a study makes under a workflow profile, counted from a dry run (no cluster needed).

Usage: python benchmarks/slurm_submissions.py [--configfile configs/paper.yaml] [--profile profiles/slurm]
                                              [--baseline-profile DIR] [--config KEY=VALUE ...]
Runs `snakemake -n --executor slurm --workflow-profile PROFILE` on a copy of this checkout's workflow and
counts what would go to `sbatch`: every job outside a group is one submission, every "Group job" block one
more (its jobs run inside it), the `all` target none. With --baseline-profile, the same for that profile
(e.g. the profile before a change, `git show REV:profiles/slurm/config.yaml`), and the ratio. At the ~14 s
of start-up per SLURM job measured on the test cluster (docs/clusters.md), every submission saved is ~14 s
of node time; queueing is not modelled. The load average is printed because the dry run's own seconds
depend on it.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import load_average

from mtbridge.snakemake_runs import WORKFLOW_FILES, copy_workflow, run_snakemake

ROOT = Path(__file__).resolve().parents[1]
SINGLE = re.compile(r"^rule (\S+):$")
GROUP = re.compile(r"Group job (\S+) \(jobs")


def submissions(printout: str) -> tuple[Counter, Counter]:
    """(single jobs per rule, group jobs per group) of a dry run's printout; `all` is not submitted."""
    singles, groups = Counter(), Counter()
    for line in printout.splitlines():
        if match := SINGLE.match(line):
            singles[match.group(1)] += match.group(1) != "all"
        elif match := GROUP.search(line):
            groups[match.group(1)] += 1
    return singles, groups


def planned(workdir: Path, profile: Path, configfile: Path,
            config: list[str]) -> tuple[Counter, Counter, float]:
    """Submissions by rule and by group of the dry run, and its seconds."""
    started = time.perf_counter()
    run = run_snakemake(workdir, "-n", "--executor", "slurm", "--workflow-profile", str(profile),
                        "--configfile", str(configfile), "--config", "warm_workers=False", *config,
                        check=True)
    singles, groups = submissions(run.stdout + run.stderr)
    return singles, groups, time.perf_counter() - started


def show(label: str, singles: Counter, groups: Counter, seconds: float) -> int:
    total = sum(singles.values()) + sum(groups.values())
    grouped = ", ".join(f"{name}: {count}" for name, count in sorted(groups.items())) or "none"
    print(f"{label}: {total} submissions ({sum(singles.values())} single jobs; group jobs {grouped}); "
          f"dry run {seconds:.1f} s", flush=True)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configfile", type=Path, default=Path("configs/paper.yaml"),
                        help="relative to the repository root, or absolute")
    parser.add_argument("--profile", type=Path, default=ROOT / "profiles" / "slurm")
    parser.add_argument("--baseline-profile", type=Path, help="a profile folder to compare with")
    parser.add_argument("--config", nargs="*", default=[], help="more --config entries for Snakemake")
    arguments = parser.parse_args()
    workdir = copy_workflow(ROOT, Path(tempfile.mkdtemp(prefix="mtbridge-submissions-")), WORKFLOW_FILES)
    configfile = arguments.configfile if arguments.configfile.is_absolute() else ROOT / arguments.configfile
    print(f"{arguments.configfile}; {load_average()}", flush=True)
    after = show(str(arguments.profile), *planned(workdir, arguments.profile.resolve(), configfile,
                                                  arguments.config))
    if arguments.baseline_profile:
        before = show(str(arguments.baseline_profile),
                      *planned(workdir, arguments.baseline_profile.resolve(), configfile, arguments.config))
        print(f"submissions: {before} -> {after} ({before / after:.1f}x fewer); at ~14 s of start-up each, "
              f"{(before - after) * 14 / 3600:.1f} h less node time")
    print(load_average())


if __name__ == "__main__":
    main()
