"""Transfer tables from synthetic predictions and metrics files with hand-computed means and stds."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from mtbridge.evaluation import score, write_metrics
from mtbridge.io import read_json, write_parquet
from mtbridge.tables import load_metrics, transfer_table, write_transfer_tables

MODELS = ["mbart", "xlmr"]
OBJECTIVES = {"mbart": ["source", "mt-m2m", "random-init"], "xlmr": ["source", "random-init"]}
TASKS = ["nli", "ner"]
METRICS = {"nli": "accuracy", "ner": "entity_f1"}
LANGUAGES = ["de", "en", "sw"]  # deliberately not train-language first
SEEDS = [1, 2, 3]
STUDY = {
    "models": MODELS,
    "objectives": OBJECTIVES,
    "tasks": TASKS,
    "languages": LANGUAGES,
    "train_language": "en",
}

# Every other score is additive: a row, language, task and seed offset (percent), so each
# cell has std 1.0 and the avg of row r is 50 + 5r (nli) or 40 + 5r (ner).
ROWS = [(model, objective) for model in MODELS for objective in OBJECTIVES[model]]
LANGUAGE_OFFSET = {"en": 20, "de": 5, "sw": -5}
TASK_OFFSET = {"nli": 0, "ner": -10}
SEED_OFFSET = {1: -1, 2: 0, 3: 1}
# Hand-picked scores for (mbart, mt-m2m, nli), seeds 1, 2, 3:
#   en 95/96/97 -> 96.0 ± 1.0;  de 60/70/65 -> 65.0 ± 5.0;  sw 40/50/30 -> 40.0 ± 10.0
#   avg per seed (de + sw) / 2 = 50, 60, 47.5 -> mean 52.5, std sqrt(43.75) = 6.61
HAND = {"en": [95, 96, 97], "de": [60, 70, 65], "sw": [40, 50, 30]}
HAND_AVG_STD = math.sqrt(43.75)
EXAMPLES = 100  # per test set, so k correct examples score exactly k %


def percent(model: str, objective: str, task: str, language: str, seed: int) -> float:
    if (model, objective, task) == ("mbart", "mt-m2m", "nli"):
        return HAND[language][seed - 1]
    row = ROWS.index((model, objective))
    return 50 + 5 * row + LANGUAGE_OFFSET[language] + TASK_OFFSET[task] + SEED_OFFSET[seed]


def examples(task: str, percent: float) -> tuple[list, list]:
    """Gold and predicted labels of one test set on which the first ``percent`` examples are right:
    NLI labels, or NER sentences of one entity each (a wrong one has the wrong type, so F1 = percent)."""
    right = int(round(percent))
    if task == "nli":
        gold = ["entailment", "neutral", "contradiction", "neutral"] * (EXAMPLES // 4)
        return gold, [g if i < right else "wrong" for i, g in enumerate(gold)]
    gold = [["B-PER", "I-PER", "O"]] * EXAMPLES
    return gold, [g if i < right else ["B-LOC", "I-LOC", "O"] for i, g in enumerate(gold)]


def write_run(directory: Path, run: tuple, percent: float) -> tuple[Path, Path]:
    """One run's predictions and metrics files; the metrics file's score is computed from them."""
    model, objective, task, language, seed = run
    gold, predicted = examples(task, percent)
    folder = directory / "-".join(map(str, run))
    predictions = folder / "predictions.parquet"
    ids = [f"{task}-{language}-{i}" for i in range(EXAMPLES)]
    write_parquet([{"id": i, "gold": g, "predicted": p} for i, g, p in zip(ids, gold, predicted, strict=True)],
                  predictions)
    metrics = folder / "metrics.json"
    write_metrics(metrics, model=model, objective=objective, task=task, language=language, seed=seed,
                  metric=METRICS[task], score=score(METRICS[task], gold, predicted), examples=EXAMPLES)
    return metrics, predictions


def write_study(directory: Path, skip: set[tuple] = frozenset()) -> list[tuple[Path, Path]]:
    """Every run's (metrics, predictions) files."""
    return [write_run(directory, run, percent(*run))
            for model, objective in ROWS for task in TASKS for language in LANGUAGES for seed in SEEDS
            if (run := (model, objective, task, language, seed)) not in skip]


def write_tables(runs: list[tuple[Path, Path]], out: Path, **options) -> dict[str, Path]:
    outputs = {
        "csv_path": out / "transfer.csv",
        "markdown_path": out / "transfer.md",
        "summary_path": out / "summary.json",
        "tests_path": out / "transfer_tests.csv",
        "findings_path": out / "findings.md",
    }
    metrics, predictions = zip(*runs, strict=True) if runs else ((), ())
    write_transfer_tables(metrics, predictions, **outputs, **STUDY, **options)
    return outputs


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> list[tuple[Path, Path]]:
    return write_study(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def outputs(study, tmp_path_factory) -> dict[str, Path]:
    return write_tables(study, tmp_path_factory.mktemp("tables"))


@pytest.fixture(scope="module")
def table(study):
    return transfer_table(load_metrics([metrics for metrics, _ in study]), **STUDY)


def test_rows_and_columns_follow_the_configuration(table) -> None:
    assert list(table.index) == ROWS
    assert list(table.columns.get_level_values("task").unique()) == TASKS
    assert list(table["nli"].columns.get_level_values("column").unique()) == [
        "en",
        "de",
        "sw",
        "avg",
    ]


def test_mean_and_sample_std_over_seeds(table) -> None:
    row = table.loc[("mbart", "mt-m2m"), "nli"]
    for language, mean, std in [("en", 96.0, 1.0), ("de", 65.0, 5.0), ("sw", 40.0, 10.0)]:
        assert row[(language, "mean")] == pytest.approx(mean)
        assert row[(language, "std")] == pytest.approx(std)
        assert row[(language, "n")] == 3


def test_avg_excludes_train_language_and_is_taken_per_seed(table) -> None:
    row = table.loc[("mbart", "mt-m2m"), "nli"]
    assert row[("avg", "mean")] == pytest.approx(52.5)  # (65 + 40) / 2; en (96) left out
    # Per seed first: std of 50, 60, 47.5 -- not the mean of the language stds (7.5).
    assert row[("avg", "std")] == pytest.approx(HAND_AVG_STD)
    assert table.loc[("xlmr", "random-init"), ("ner", "avg", "mean")] == pytest.approx(60.0)


def test_csv_columns_and_values(outputs) -> None:
    lines = outputs["csv_path"].read_text().splitlines()
    header = lines[0].split(",")
    assert header[:5] == ["model", "objective", "seeds", "nli.en", "nli.en.std"]
    assert header[-2:] == ["ner.avg", "ner.avg.std"]
    row = dict(zip(header, lines[2].split(","), strict=True))
    assert (row["model"], row["objective"], row["seeds"]) == ("mbart", "mt-m2m", "3")
    assert (row["nli.en"], row["nli.sw.std"], row["nli.avg"]) == ("96.00", "10.00", "52.50")
    assert row["nli.avg.std"] == f"{HAND_AVG_STD:.2f}"


def test_markdown_cells_and_legend(outputs) -> None:
    markdown = outputs["markdown_path"].read_text()
    assert markdown.startswith("# Zero-shot cross-lingual transfer\n")
    assert "accuracy: nli; entity F1: ner" in markdown
    assert "mean ± std over 3 seeds (1, 2, 3)" in markdown
    assert "| model | objective | en | de | sw | avg |" in markdown
    assert "| mbart | mt-m2m | 96.0 ± 1.0 | 65.0 ± 5.0 | 40.0 ± 10.0 | 52.5 ± 6.6 |" in markdown
    assert markdown.index("## Summary") < markdown.index("## nli (accuracy)")
    assert markdown.index("## nli (accuracy)") < markdown.index("## ner (entity F1)")


def test_summary_table_bolds_the_best_of_each_column(outputs) -> None:
    summary = outputs["markdown_path"].read_text().split("## nli")[0]
    header = "| model | objective | nli en | nli avg | ner en | ner avg | overall |"
    assert header in summary
    assert "| mbart | mt-m2m | **96.0 ± 1.0** | 52.5 ± 6.6 | 65.0 ± 1.0 | 45.0 ± 1.0 |" in summary
    assert "| xlmr | random-init | 90.0 ± 1.0 | **70.0 ± 1.0** | **80.0 ± 1.0** |" in summary
    assert summary.count("**") == 2 * 5  # one bold cell per value column


def test_summary_json(outputs) -> None:
    summary = read_json(outputs["summary_path"])
    assert summary["tasks"] == METRICS
    assert (summary["train_language"], summary["seeds"]) == ("en", SEEDS)
    avg = summary["results"]["mbart"]["mt-m2m"]["nli"]["avg"]
    assert avg == {"mean": pytest.approx(52.5), "std": pytest.approx(HAND_AVG_STD), "n": 3}
    # overall per seed: nli avg (50, 60, 47.5) and ner avg (44, 45, 46) -> 47, 52.5, 46.75
    overall = summary["overall"]["mbart"]["mt-m2m"]
    assert overall == {"mean": pytest.approx(48.75), "std": pytest.approx(3.25), "n": 3}


def test_outputs_are_byte_identical_across_writes(study, outputs, tmp_path) -> None:
    again = write_tables(list(reversed(study)), tmp_path)
    for key, path in outputs.items():
        assert again[key].read_bytes() == path.read_bytes()


def test_missing_run_is_named(tmp_path) -> None:
    paths = write_study(tmp_path, skip={("xlmr", "source", "ner", "sw", 2)})
    with pytest.raises(ValueError, match=r"1 of 90 .* \(xlmr, source, ner, sw, seed 2\)"):
        write_tables(paths, tmp_path / "out")


def test_allow_missing_marks_gaps(tmp_path) -> None:
    gone = {("xlmr", "source", "ner", "sw", 2)}
    gone |= {("xlmr", "random-init", "nli", "de", seed) for seed in SEEDS}
    outputs = write_tables(write_study(tmp_path, skip=gone), tmp_path / "out", allow_missing=True)
    markdown = outputs["markdown_path"].read_text()
    assert "Incomplete, 4 of the runs missing" in markdown
    partial = "| xlmr | source | 75.0 ± 1.0 | 60.0 ± 1.0 | 50.0 ± 1.4 (n=2) | 55.0 ± 1.4 (n=2) |"
    assert partial in markdown
    assert "| xlmr | random-init | 90.0 ± 1.0 | – | 65.0 ± 1.0 | – |" in markdown


def test_single_seed_has_no_std(study, tmp_path) -> None:
    outputs = write_tables(study, tmp_path, seeds=[1])
    markdown = outputs["markdown_path"].read_text()
    assert "a single seed (1), so no std" in markdown
    assert "| mbart | mt-m2m | 95.0 | 60.0 | 40.0 | 50.0 |" in markdown
    assert "±" not in markdown
    header, first = outputs["csv_path"].read_text().splitlines()[:2]
    row = dict(zip(header.split(","), first.split(","), strict=True))
    assert (row["seeds"], row["nli.en"], row["nli.en.std"]) == ("1", "69.00", "NaN")


def test_load_metrics_names_the_bad_file(tmp_path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text('{"model": "mbart", "score": 0.5}')
    with pytest.raises(ValueError, match="broken.json: not a readable metrics file"):
        load_metrics([broken])
    with pytest.raises(ValueError, match=r"incomplete.json: missing key\(s\) \['objective'"):
        load_metrics([incomplete])


def test_duplicate_run_and_mixed_metrics_are_rejected(study, tmp_path) -> None:
    copy = tmp_path / "copy.json"
    copy.write_bytes(study[0].read_bytes())
    with pytest.raises(ValueError, match=r"\(mbart, source, nli, de, seed 1\) is reported twice"):
        load_metrics([study[0], copy])
    record = read_json(study[0]) | {"metric": "entity_f1"}
    write_metrics(copy, **record)
    with pytest.raises(ValueError, match="task 'nli': expected results with one metric"):
        write_tables([copy, *study[1:]], tmp_path / "out")
