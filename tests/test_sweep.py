"""The pretraining-budget sweep: configs per budget, averages from metrics files, and its figure."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from conftest import ROOT

from mtbridge.config import load_config, prepare_config
from mtbridge.evaluation import write_metrics
from mtbridge.figures import sweep_curves
from mtbridge.sweep import best_baselines, keep_swept, sweep_config, transfer_by_budget


def test_a_budget_config_changes_only_pretraining_steps_tasks_and_seeds() -> None:
    base = load_config(ROOT / "config.yaml")
    config = sweep_config(base, 1400, ["topic", "ner"], [1, 2])
    prepare_config(config)  # still a valid study (settings of tasks outside the grid are definitions)
    for model in config["study"]["models"]:
        assert config["models"][model]["pretraining"]["steps"] == 1400
        assert config["models"][model]["pretraining"]["warmup_steps"] == 140
    assert config["study"]["tasks"] == ["topic", "ner"] and config["study"]["seeds"] == [1, 2]
    unchanged = copy.deepcopy(config)
    for key in ("study", "models"):
        unchanged[key] = base[key]
    assert unchanged == base


def write_runs(root: Path, steps: int) -> None:
    scores = {("mbart", "source"): steps / 4000, ("mbart", "random-init"): 0.3,
              ("baseline", "char-ngrams"): 0.5}
    for (model, objective), value in scores.items():
        for seed in (1, 2):
            for language, offset in (("en", 0.4), ("close", 0.0), ("far", 0.02 * seed)):
                write_metrics(root / "metrics" / model / objective / language / f"{seed}.json", model=model,
                              objective=objective, task="topic", language=language, pretraining_seed=1,
                              seed=seed,
                              metric="accuracy", score=min(1.0, value + offset), examples=10)


def test_averages_by_budget_leave_out_the_training_language(tmp_path: Path) -> None:
    workdirs = {}
    for steps in (700, 1400):
        workdirs[steps] = tmp_path / str(steps)
        write_runs(workdirs[steps], steps)
    frame = transfer_by_budget(workdirs, "en", ["topic"], [1, 2])
    source = frame[(frame["objective"] == "source")].set_index("steps")
    assert source.loc[700, "mean"] == pytest.approx((700 / 4000 + 0.015) * 100)
    assert source.loc[1400, "seeds"] == 2 and source.loc[1400, "std"] == pytest.approx(0.7071, abs=1e-3)
    base = {"study": {"models": ["mbart"]}, "models": {"mbart": {"pretraining": {"steps": 700}}}}
    kept = keep_swept(frame, base, [1400])  # a reused study at 1400 steps: not mbart's own budget
    assert set(kept[kept["steps"] == 1400]["model"]) == {"baseline"} and len(kept[kept["steps"] == 700]) == 3
    assert keep_swept(frame, base, [700]).equals(frame)
    best = best_baselines(frame)
    assert list(best["objective"]) == ["char-ngrams", "char-ngrams"]
    sweep_curves(frame=frame, baselines=best, output_path=tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
