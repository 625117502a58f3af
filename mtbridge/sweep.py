"""Transfer against the source-pretraining budget: the same study at several budgets, side by side.

Whether MT continued pretraining helps can depend on how well trained the source is (an under-trained
source gains from any further training), so the sweep varies the source budget of every family and
keeps everything else, the continued budget in tokens included, as the base config has it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from mtbridge.aliases import PathLike
from mtbridge.io import read_json

BASELINE = "baseline"
WARMUP_SHARE = 0.1


def sweep_config(base: dict, steps: int, tasks: Sequence[str], seeds: Sequence[int]) -> dict:
    """``base`` with every study family pretrained for ``steps`` (warm-up 10%), on ``tasks`` and ``seeds``."""
    config = copy.deepcopy(base)
    config["study"]["tasks"], config["study"]["seeds"] = list(tasks), list(seeds)
    for model in config["study"]["models"]:
        config["models"][model]["pretraining"].update(steps=steps, warmup_steps=round(WARMUP_SHARE * steps))
    return config


def read_runs(metrics_root: PathLike) -> pd.DataFrame:
    """Every task metrics file under ``metrics_root`` (models and baselines; not translation scores),
    one row per run."""
    records = [read_json(path) for path in sorted(Path(metrics_root).rglob("*.json"))
               if not path.name.endswith(".provenance.json")]
    return pd.DataFrame([record for record in records if "task" in record])


def zero_shot_average(runs: pd.DataFrame, train_language: str) -> pd.DataFrame:
    """Per model × objective × task: mean and std over seeds of each seed's mean over the test languages
    other than ``train_language`` (in percent)."""
    tested = runs[runs["language"] != train_language]
    per_seed = tested.groupby(["model", "objective", "task", "seed"])["score"].mean() * 100
    grouped = per_seed.groupby(["model", "objective", "task"])
    return pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(), "seeds": grouped.size()}).reset_index()


def transfer_by_budget(workdirs: Mapping[int, PathLike], train_language: str, tasks: Sequence[str],
                       seeds: Sequence[int]) -> pd.DataFrame:
    """The zero-shot averages of each budget's study (``workdirs[steps]``) on ``tasks`` and ``seeds``
    (baselines, seed 0, always), with a ``steps`` column."""
    frames = []
    for steps, workdir in workdirs.items():
        runs = read_runs(Path(workdir) / "metrics")
        runs = runs[runs["task"].isin(tasks) & (runs["seed"].isin(seeds) | (runs["model"] == BASELINE))]
        frames.append(zero_shot_average(runs, train_language).assign(steps=steps))
    columns = ["steps", "model", "objective", "task", "mean", "std", "seeds"]
    return pd.concat(frames, ignore_index=True)[columns]


def keep_swept(frame: pd.DataFrame, base: dict, reused: Sequence[int]) -> pd.DataFrame:
    """Drop the families of a reused study (a finished study of ``base``) whose own pretraining budget is
    not the one the study stands for: the default study pretrains each family for its own steps."""
    models = base["study"]["models"]
    wrong = [(steps, model) for steps in reused for model in models
             if base["models"][model]["pretraining"]["steps"] != steps]
    keep = [(steps, model) not in wrong for steps, model in zip(frame["steps"], frame["model"], strict=True)]
    return frame[keep]


def best_baselines(frame: pd.DataFrame) -> pd.DataFrame:
    """Per task and budget, the strongest surface baseline (they do not depend on the budget)."""
    baselines = frame[frame["model"] == BASELINE]
    best = baselines.loc[baselines.groupby(["task", "steps"])["mean"].idxmax()]
    return best[["steps", "task", "objective", "mean"]].reset_index(drop=True)
