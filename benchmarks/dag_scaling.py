"""Time per job of the DAG dry run and of the no-op rerun, for studies of growing size.

Usage: python benchmarks/dag_scaling.py [--configfile config.yaml] [--sizes 3x0 6x0 12x0 12x5 24x10]
                                        [--repeats 3] [--workdir DIR] [--keep]
Each size SEEDSxEXTRA is the study of --configfile with fine-tuning seeds 1..SEEDS and EXTRA more test
languages (copies of its own non-training languages, named x0, x1, ..., so every language-dependent
rule grows: data, tokenizer input, pretraining corpora, predictions, dumps, CKA). Each runs in its own
folder under --workdir (default: a new temporary one):

1. the dry run of the cold study, `snakemake -n --quiet rules`, timed (fastest of --repeats; the first
   run writes the jobs' settings files, later ones find them); its `Job stats` give the jobs;
2. every planned output is created empty (a directory for an output without a file suffix, which is how
   every `directory()` output of rules/ is named) and the study is marked up to date the way
   scripts/pull.sh marks artifacts fetched with `dvc pull` (`provenance.mark_up_to_date`: one mtime, later
   than every settings file). Untimed;
3. the no-op rerun, `snakemake -n --quiet rules` again on that finished study, timed; it must plan 0 jobs
   (the `left` column).

Step 2 writes no `.snakemake/metadata` (`snakemake --touch` would, but it sleeps 0.1 s per job and
skips missing files), so the no-op here is the one after a pull: it leaves out the metadata lookup per
output of a study Snakemake ran itself; benchmarks/study_time.py measures that one (956 jobs).
Prints, per size, jobs, seconds and milliseconds per job of each run, with the load average: linear
growth shows as a flat ms/job column.
Snakemake runs single-threaded here (`--cores 1`; a dry run does not use more).
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import yaml
from _common import load_average

from mtbridge.provenance import mark_up_to_date
from mtbridge.snakemake_runs import run_snakemake
from mtbridge.status import parse_job_stats

ROOT = Path(__file__).resolve().parent.parent
JOB = re.compile(r"^(?:local)?rule (\S+):$")
FIELD = re.compile(r"^    (input|output): (.*)$")


def grown_config(base: dict, seeds: int, extra: int, name: str) -> dict:
    """BASE with seeds 1..SEEDS and EXTRA copied test languages, as study NAME."""
    config = copy.deepcopy(base)
    study, languages = config["study"], config["world"]["languages"]
    study.update(name=name, seeds=list(range(1, seeds + 1)))
    originals = [language for language in study["languages"] if language != study["train_language"]]
    for index in range(extra):
        languages[f"x{index}"] = copy.deepcopy(languages[originals[index % len(originals)]])
        study["languages"].append(f"x{index}")
    return config


def timed_dry_run(folder: Path, configfile: Path, *extra: str, repeats: int = 1) -> tuple[float, str]:
    """Fastest of REPEATS `snakemake -n` in FOLDER (on a shared machine the minimum is the least
    disturbed run) and what the last one printed."""
    best, printout = float("inf"), ""
    for _ in range(repeats):
        started = time.perf_counter()
        run = run_snakemake(folder, "-n", "--cores", "1", "--configfile", str(configfile), *extra,
                            snakefile=ROOT / "Snakefile", check=True)
        best, printout = min(best, time.perf_counter() - started), run.stdout + run.stderr
    return best, printout


def planned(printout: str) -> Iterator[tuple[list[str], list[str]]]:
    """(inputs, outputs) of each job in a verbose dry run's printout."""
    fields: dict[str, list[str]] | None = None
    for line in printout.splitlines():
        if JOB.match(line):
            if fields is not None:
                yield fields.get("input", []), fields.get("output", [])
            fields = {}
        elif fields is not None and (match := FIELD.match(line)):
            fields[match.group(1)] = match.group(2).split(", ")
    if fields is not None:
        yield fields.get("input", []), fields.get("output", [])


def mark_finished(study: Path, printout: str) -> int:
    """Create every planned output under STUDY empty, then give them one mtime later than every settings
    file, as scripts/pull.sh does after `dvc pull` (mark_up_to_date); returns the jobs marked."""
    jobs = list(planned(printout))
    for _, outputs in jobs:
        for output in outputs:
            path = study / output
            if Path(output).suffix:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            else:
                path.mkdir(parents=True, exist_ok=True)
    mark_up_to_date(study)
    return len(jobs)


def measure(base: dict, workdir: Path, seeds: int, extra: int, repeats: int) -> dict[str, float]:
    """Jobs and seconds of the cold dry run and of the no-op rerun for one size."""
    name = f"scale-{seeds}x{extra}"
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    configfile = folder / "config.yaml"
    configfile.write_text(yaml.safe_dump(grown_config(base, seeds, extra, name), sort_keys=False))
    cold, printout = timed_dry_run(folder, configfile, "--quiet", "rules", repeats=repeats)
    jobs = sum(parse_job_stats(printout).values())
    _, verbose = timed_dry_run(folder, configfile)
    marked = mark_finished(folder / "studies" / name, verbose)
    noop, printout = timed_dry_run(folder, configfile, "--quiet", "rules", repeats=repeats)
    left = sum(parse_job_stats(printout).values())
    return {"jobs": jobs, "marked": marked, "dry_s": cold, "noop_s": noop, "left": left}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configfile", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--sizes", nargs="+", default=["3x0", "6x0", "12x0", "12x5", "24x10"],
                        help="SEEDSxEXTRA_LANGUAGES per study")
    parser.add_argument("--workdir", type=Path, help="default: a new temporary folder")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timed dry run; the fastest counts")
    parser.add_argument("--keep", action="store_true", help="keep the studies' folders")
    arguments = parser.parse_args()
    base = yaml.safe_load(arguments.configfile.read_text())
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="mtbridge-scaling-"))
    print(f"{arguments.configfile}; {load_average()}")
    print(f"{'size':>6} {'jobs':>7} {'dry-run s':>10} {'ms/job':>7} {'no-op s':>8} {'ms/job':>7} {'left':>5}")
    for size in arguments.sizes:
        seeds, extra = (int(part) for part in size.split("x"))
        result = measure(base, workdir, seeds, extra, arguments.repeats)
        jobs = result["jobs"]
        print(f"{size:>6} {jobs:>7} {result['dry_s']:>10.1f} {1000 * result['dry_s'] / jobs:>7.2f} "
              f"{result['noop_s']:>8.1f} {1000 * result['noop_s'] / jobs:>7.2f} {result['left']:>5}",
              flush=True)
    print(load_average())
    if not arguments.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
