"""Transfer against the source-pretraining budget: the study's transfer table at several budgets.

Usage: python benchmarks/pretraining_sweep.py [--steps 350 700 1400 3500] [--tasks topic pos ner]
       [--seeds 1 2 3] [--cores 2] [--workdir DIR] [--reuse STEPS=DIR ...] [--output PATH]
Runs the base config (config.yaml) once per budget in its own folder (fine-tuning, prediction and the
baselines; no analysis), then writes <output>.csv and <output>.png and prints the table.
--reuse takes a budget's results from a finished study of the same base config instead (its root, e.g.
studies/default for the default study's own budget); only the sweep's tasks and seeds are read from it,
and only the families whose own pretraining steps in the base config equal that budget.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from mtbridge import paths
from mtbridge.config import load_config
from mtbridge.figures import sweep_curves
from mtbridge.io import write_text
from mtbridge.snakemake_runs import run_snakemake
from mtbridge.sweep import best_baselines, keep_swept, sweep_config, transfer_by_budget

ROOT = Path(__file__).resolve().parent.parent


def run_budget(base: dict, steps: int, arguments: argparse.Namespace) -> Path:
    """Run one budget's study; returns the study's own root (the folder its metrics are under)."""
    workdir = arguments.workdir / f"steps{steps}"
    workdir.mkdir(parents=True, exist_ok=True)
    config = sweep_config(base, steps, arguments.tasks, arguments.seeds)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=True))
    started = time.perf_counter()
    run_snakemake(workdir, paths.transfer_table("csv"), "--configfile", "config.yaml", "--cores",
                  str(arguments.cores), "--quiet", snakefile=ROOT / "Snakefile", capture=False, check=True)
    print(f"{steps} steps: {time.perf_counter() - started:.0f} s", flush=True)
    return workdir / paths.study_root(config["study"]["name"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, nargs="+", default=[350, 700, 1400, 3500])
    parser.add_argument("--tasks", nargs="+", default=["topic", "pos", "ner"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--configfile", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.mkdtemp(prefix="mtbridge-sweep-")))
    parser.add_argument("--reuse", nargs="*", default=[], metavar="STEPS=DIR")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "figures" / "pretraining_sweep")
    arguments = parser.parse_args()
    base = load_config(arguments.configfile)
    reused = {int(steps): Path(folder) for steps, folder in (item.split("=", 1) for item in arguments.reuse)}
    workdirs = {steps: reused.get(steps) or run_budget(base, steps, arguments)
                for steps in sorted({*arguments.steps, *reused})}
    frame = keep_swept(transfer_by_budget(workdirs, base["study"]["train_language"], arguments.tasks,
                                          arguments.seeds), base, list(reused))
    baselines = best_baselines(frame)
    write_text(frame.to_csv(index=False, float_format="%.2f", lineterminator="\n"),
               arguments.output.with_suffix(".csv"))
    sweep_curves(frame=frame, baselines=baselines, output_path=arguments.output.with_suffix(".png"))
    models = frame[frame["model"] != "baseline"]
    print(models.pivot_table(index=["model", "objective", "task"], columns="steps", values="mean").round(1))
    print(baselines.to_string(index=False))


if __name__ == "__main__":
    main()
