"""Jobs and wall time of one study on the real test cluster, without and with the SLURM profile's job groups.

Usage: sudo python benchmarks/slurm_wall.py [--repeats 1]
Brings up the one-node test cluster of tests/test_slurm.py if it is not running (scripts/slurm_cluster.sh:
root, installs slurm-wlm with apt-get), then runs the SLURM tests' cut-down micro study from scratch through
profiles/slurm as it is and through a copy without `groups:` / `group-components:` (the profile before job
groups), in alternating order, each in a fresh copy of the workflow. Prints SLURM jobs submitted and wall
seconds of each, the ratio, and whether both runs' artifacts are byte-identical; the cluster is stopped
again if this script started it. The node has this machine's cores, so the figure is start-up and queueing
saved on a small cluster, not on a busy shared one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml
from _common import load_average

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the SLURM tests' cluster and study helpers

from slurm_cluster import (  # noqa: E402
    FAKE_GPUS,
    SLURM_PROFILE,
    artifact_files,
    cluster_script,
    cluster_unavailable_reason,
    digests,
    on_slurm,
    shrunken_workflow,
    start_cluster,
    stop_cluster,
    submitted_jobs,
)


def ungrouped_profile(destination: Path) -> Path:
    """A copy of profiles/slurm without its job groups."""
    settings = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text())
    for key in ("groups", "group-components"):
        settings.pop(key)
    destination.mkdir(parents=True)
    (destination / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return destination


def measure(label: str, profile: Path, scratch: Path) -> dict:
    run = on_slurm(shrunken_workflow(scratch / label), profile=profile)
    if run.result.returncode != 0:
        sys.exit(f"{label}: snakemake failed:\n{run.output[-3000:]}")
    files = artifact_files(run.study)
    jobs = len(submitted_jobs(run.output))
    print(f"{label}: {jobs} SLURM jobs, {run.seconds:.0f} s; {load_average()}", flush=True)
    return {"jobs": jobs, "seconds": run.seconds, "digests": digests(run.study, files)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=1)
    arguments = parser.parse_args()
    if reason := cluster_unavailable_reason():
        sys.exit(f"no SLURM test cluster: {reason}")
    already_up = cluster_script("status").returncode == 0
    start_cluster(env=FAKE_GPUS)
    try:
        with tempfile.TemporaryDirectory(prefix="mtbridge-slurm-wall-") as temporary:
            scratch = Path(temporary)
            profiles = {"ungrouped": ungrouped_profile(scratch / "ungrouped-profile"),
                        "grouped": SLURM_PROFILE}
            results: dict[str, list[dict]] = {label: [] for label in profiles}
            for repeat in range(arguments.repeats):
                order = list(profiles) if repeat % 2 == 0 else list(reversed(profiles))
                for label in order:
                    results[label].append(measure(label, profiles[label], scratch / f"repeat{repeat}"))
    finally:
        if not already_up:
            stop_cluster(env=FAKE_GPUS)
    before, after = (min(results[label], key=lambda run: run["seconds"])
                     for label in ("ungrouped", "grouped"))
    differing = sorted(name for name in set(before["digests"]) | set(after["digests"])
                       if before["digests"].get(name) != after["digests"].get(name))
    identical = not differing
    if differing:
        print(f"{len(differing)} artifacts differ: {', '.join(differing[:20])}")
    print(f"SLURM jobs {before['jobs']} -> {after['jobs']}; wall {before['seconds']:.0f} s -> "
          f"{after['seconds']:.0f} s ({before['seconds'] / after['seconds']:.2f}x, "
          f"fastest of {arguments.repeats}); "
          f"artifacts byte-identical: {identical} ({len(after['digests'])} files)")


if __name__ == "__main__":
    main()
