"""Transfer tables from synthetic predictions and metrics files with hand-computed means and stds."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mtbridge.budget import write_budget_table
from mtbridge.evaluation import ndcg, score, write_metrics
from mtbridge.io import read_json, write_json, write_parquet
from mtbridge.models import TRAINING_FILE
from mtbridge.tables import chance_level, load_metrics, transfer_table, write_transfer_tables
from mtbridge.tabular import unique_best, without_empty_columns
from mtbridge.tasks import task_spec
from mtbridge.xglue import xglue_task_spec

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
IDENTITY = {"name": "toy", "config_hash": "0123456789ab"}
CAPTION = "Study `toy` (config 0123456789ab)."


def definitions(tasks: list[str]) -> dict[str, dict]:
    """What mtbridge.config.task_definition gives each task (WPR from XGLUE, the rest synthetic)."""
    return {task: asdict(xglue_task_spec(task) if task == "wpr" else task_spec(task, {"topics": ["a", "b"]}))
            for task in tasks}


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
    write_parquet([{"id": i, "gold": g, "predicted": p}
                   for i, g, p in zip(ids, gold, predicted, strict=True)], predictions)
    metrics = folder / "metrics.json"
    write_metrics(metrics, model=model, objective=objective, task=task, language=language, pretraining_seed=1,
                  seed=seed,
                  metric=METRICS[task], score=score(METRICS[task], gold, predicted), examples=EXAMPLES)
    return metrics, predictions


def write_study(directory: Path, skip: set[tuple] = frozenset()) -> list[tuple[Path, Path]]:
    """Every run's (metrics, predictions) files."""
    return [write_run(directory, run, percent(*run))
            for model, objective in ROWS for task in TASKS for language in LANGUAGES for seed in SEEDS
            if (run := (model, objective, task, language, seed)) not in skip]


def output_paths(out: Path) -> dict[str, Path]:
    return {
        "csv_path": out / "transfer.csv",
        "markdown_path": out / "transfer.md",
        "summary_path": out / "summary.json",
        "tests_path": out / "transfer_tests.csv",
        "findings_path": out / "findings.md",
    }


def write_tables(runs: list[tuple[Path, Path]], out: Path, study: dict = STUDY, **options) -> dict[str, Path]:
    metrics, predictions = zip(*runs, strict=True)
    write_transfer_tables(metrics, predictions, **output_paths(out), **study, study=IDENTITY,
                          task_definitions=definitions(study["tasks"]), **options)
    return output_paths(out)


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
    assert header[:7] == ["model", "objective", "seeds", "nli.en", "nli.en.std", "nli.en.ci_low",
                          "nli.en.ci_high"]
    assert header[-4:] == ["ner.avg", "ner.avg.std", "ner.avg.ci_low", "ner.avg.ci_high"]
    row = dict(zip(header, lines[2].split(","), strict=True))
    assert (row["model"], row["objective"], row["seeds"]) == ("mbart", "mt-m2m", "3")
    assert (row["nli.en"], row["nli.sw.std"], row["nli.avg"]) == ("96.00", "10.00", "52.50")
    assert row["nli.avg.std"] == f"{HAND_AVG_STD:.2f}"


def test_intervals_bracket_every_mean(outputs) -> None:
    for row in read_csv(outputs["csv_path"]):
        for task in TASKS:
            for column in ["en", "de", "sw", "avg"]:
                low, mean, high = (float(row[f"{task}.{column}{suffix}"])
                                   for suffix in (".ci_low", "", ".ci_high"))
                assert low < mean < high
                # 100 examples per language: about ± 2 binomial SEs (10 points at 50%), more with
                # the hand-picked seed spread, less for avg
                assert 5 < high - low < (30 if column != "avg" else 20)


def unmarked(text: str) -> str:
    return text.replace("†", "").replace("‡", "")


def plain(markdown: str) -> str:
    """Markdown without significance marks and intervals: the mean ± std cells of before."""
    return re.sub(r" \[-?[\d.]+, -?[\d.]+\]", "", unmarked(markdown))


def section_cells(markdown: str, title: str) -> dict[tuple[str, str], list[str]]:
    """The cells of one Markdown table by (model, objective), after its header and rule lines."""
    body = markdown.split(f"## {title}\n\n")[1].split("\n\n")[0].splitlines()[2:]
    cells = [line.strip("| ").split(" | ") for line in body]
    return {(model, objective): rest for model, objective, *rest in cells}


def test_markdown_cells_and_legend(outputs) -> None:
    markdown = outputs["markdown_path"].read_text()
    assert markdown.startswith("# Zero-shot cross-lingual transfer\n")
    assert "accuracy: nli; entity F1: ner" in markdown
    assert "mean ± std over 3 seeds (1, 2, 3)" in markdown
    assert "95% bootstrap interval over test examples and seeds (B = 1000)" in markdown
    assert "| model | objective | en | de | sw | avg |" in markdown
    row = {line["objective"]: line for line in read_csv(outputs["csv_path"])}["mt-m2m"]
    expected = [f"{mean} ± {std} [{float(row[f'nli.{column}.ci_low']):.1f}, "
                f"{float(row[f'nli.{column}.ci_high']):.1f}]"
                for column, mean, std in [("en", 96.0, 1.0), ("de", 65.0, 5.0), ("sw", 40.0, 10.0),
                                          ("avg", 52.5, 6.6)]]
    cells = section_cells(markdown, "nli (accuracy)")[("mbart", "mt-m2m")]
    assert [unmarked(cell) for cell in cells] == expected
    assert markdown.index("## Summary") < markdown.index("## nli (accuracy)")
    assert markdown.index("## nli (accuracy)") < markdown.index("## ner (entity F1)")


def test_summary_table_bolds_the_best_of_each_column(outputs) -> None:
    summary = unmarked(outputs["markdown_path"].read_text().split("## nli")[0])
    header = "| model | objective | nli en | nli avg | ner en | ner avg | overall | overall-cls |"
    assert header in summary
    line = "| mbart | mt-m2m | **96.0 ± 1.0** | 52.5 ± 6.6 | 65.0 ± 1.0 | 45.0 ± 1.0 | 48.8 ± 3.2 |"
    assert f"{line} 52.5 ± 6.6 |" in summary  # overall-cls: nli only
    assert "| xlmr | random-init | 90.0 ± 1.0 | **70.0 ± 1.0** | **80.0 ± 1.0** |" in summary
    assert summary.count("**") == 2 * 6  # one bold cell per value column


def test_overall_is_stated_both_ways(outputs) -> None:
    markdown = outputs["markdown_path"].read_text()
    assert "`overall` = mean of the task avgs of nli, ner (different metrics, so only a rough index)" \
        in markdown
    assert "`overall-cls` = of the classification tasks only (nli, all accuracy)" in markdown
    summary = read_json(outputs["summary_path"])
    assert summary["overall_tasks"] == {"overall": TASKS, "overall-cls": ["nli"]}
    nli_avg = summary["results"]["xlmr"]["source"]["nli"]["avg"]
    assert summary["overall-cls"]["xlmr"]["source"] == nli_avg


def test_summary_json(outputs) -> None:
    summary = read_json(outputs["summary_path"])
    assert summary["tasks"] == METRICS
    assert (summary["train_language"], summary["seeds"], summary["resamples"]) == ("en", SEEDS, 1000)
    avg = summary["results"]["mbart"]["mt-m2m"]["nli"]["avg"]
    assert avg == {"mean": pytest.approx(52.5), "std": pytest.approx(HAND_AVG_STD), "n": 3,
                   "ci_low": pytest.approx(44.0, abs=2), "ci_high": pytest.approx(61.0, abs=2)}
    # overall per seed: nli avg (50, 60, 47.5) and ner avg (44, 45, 46) -> 47, 52.5, 46.75
    overall = summary["overall"]["mbart"]["mt-m2m"]
    assert (overall["mean"], overall["std"], overall["n"]) == (pytest.approx(48.75), pytest.approx(3.25), 3)
    assert overall["ci_low"] < 48.75 < overall["ci_high"]


def test_tests_compare_each_objective_with_source(outputs) -> None:
    tests = read_csv(outputs["tests_path"])
    assert list(tests[0]) == ["model", "task", "column", "objective", "reference", "effect", "ci_low",
                              "ci_high", "p", "p_bootstrap", "p_holm", "significant"]
    compared = {(test["model"], test["objective"], test["reference"]) for test in tests}
    assert compared == {("mbart", "mt-m2m", "source"), ("mbart", "random-init", "source"),
                        ("xlmr", "random-init", "source")}
    assert len(tests) == 3 * len(TASKS) * 4  # every language and the avg
    by_cell = {(t["model"], t["objective"], t["task"], t["column"]): t for t in tests}
    assert by_cell[("mbart", "mt-m2m", "nli", "avg")]["effect"] == "2.50"  # 52.5 - 50
    assert by_cell[("mbart", "random-init", "ner", "de")]["effect"] == "10.00"
    for test in tests:
        assert float(test["ci_low"]) <= float(test["effect"]) <= float(test["ci_high"])
        assert float(test["p"]) <= float(test["p_holm"]) <= 1
        assert test["significant"] == str(float(test["p_holm"]) < 0.05)
    # +10 points on both languages: clear; +2.5 with seed spread 6.6: not
    assert by_cell[("mbart", "random-init", "nli", "avg")]["significant"] == "True"
    assert by_cell[("mbart", "mt-m2m", "nli", "avg")]["significant"] == "False"


def test_marks_follow_the_tests(outputs) -> None:
    markdown = outputs["markdown_path"].read_text()
    tests = read_csv(outputs["tests_path"])
    assert any(test["significant"] == "True" for test in tests)
    assert any(test["significant"] == "False" for test in tests)
    for test in tests:
        title = f"{test['task']} ({'accuracy' if test['task'] == 'nli' else 'entity F1'})"
        cells = section_cells(markdown, title)[(test["model"], test["objective"])]
        cell = cells[["en", "de", "sw", "avg"].index(test["column"])]
        assert cell.endswith("†") == (test["significant"] == "True"), (test, cell)
    assert "‡" not in markdown.split("## Summary")[1]  # no denoise-cp in this study


def test_findings_state_every_task_average_claim(outputs) -> None:
    findings = outputs["findings_path"].read_text().splitlines()
    assert (findings[0], findings[2]) == ("# Findings", CAPTION)
    assert findings[4].startswith("Tested: each objective against its family's `source` and `denoise-cp`")
    assert "fine-tuning seeds (1, 2, 3)" in findings[4] and "(B = 1000)" in findings[4]
    assert "Holm-corrected over all 24 tests" in findings[4]
    claims = [line for line in findings if line.startswith("- ")]
    assert len(claims) == 3 * len(TASKS)
    assert findings.index("## mbart vs source") < findings.index("## xlmr vs source")
    tests = {(t["model"], t["objective"], t["task"]): t for t in read_csv(outputs["tests_path"])
             if t["column"] == "avg"}
    test = tests[("mbart", "random-init", "nli")]
    claim = next(line for line in claims if line.startswith("- mbart random-init vs source, nli avg:"))
    assert claim.startswith(f"- mbart random-init vs source, nli avg: +10.0 points "
                            f"[{float(test['ci_low']):.1f}, {float(test['ci_high']):.1f}], p_holm ")
    assert claim.endswith("(significant)")
    assert any(line.endswith("(not significant)") for line in claims)


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
    markdown = plain(outputs["markdown_path"].read_text())
    assert "Incomplete, 4 of the runs missing" in markdown
    partial = "| xlmr | source | 75.0 ± 1.0 | 60.0 ± 1.0 | 50.0 ± 1.4 (n=2) | 55.0 ± 1.4 (n=2) |"
    assert partial in markdown
    assert "| xlmr | random-init | 90.0 ± 1.0 | – | 65.0 ± 1.0 | – |" in markdown


def test_single_seed_has_no_std(study, tmp_path) -> None:
    outputs = write_tables(study, tmp_path, seeds=[1])
    markdown = plain(outputs["markdown_path"].read_text())
    assert "a single seed (1), so no std" in markdown
    assert "| mbart | mt-m2m | 95.0 | 60.0 | 40.0 | 50.0 |" in markdown
    assert "±" not in markdown
    assert "| mbart | mt-m2m | 95.0 [" in unmarked(outputs["markdown_path"].read_text())  # examples only
    header, first = outputs["csv_path"].read_text().splitlines()[:2]
    row = dict(zip(header.split(","), first.split(","), strict=True))
    assert (row["seeds"], row["nli.en"]) == ("1", "69.00") and float(row["nli.en.ci_low"]) < 69.0
    assert not [column for column in row if column.endswith(".std")]  # NaN in every row: left out


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
    (first, predictions), *rest = study
    copy = tmp_path / "copy.json"
    copy.write_bytes(first.read_bytes())
    with pytest.raises(ValueError, match=r"\(mbart, source, nli, de, seed 1\) is reported twice"):
        load_metrics([first, copy])
    record = read_json(first) | {"metric": "entity_f1"}
    write_metrics(copy, **record)
    with pytest.raises(ValueError, match="task 'nli': expected results with one metric"):
        write_tables([(copy, predictions), *rest], tmp_path / "out")


def test_predictions_must_be_those_of_the_run(study, tmp_path) -> None:
    (first, one), (second, two), *rest = study  # seed 1 and seed 2 of one cell: 54 vs 55 correct
    with pytest.raises(ValueError, match="scores 0.550000, but .* says 0.540000: not the same run"):
        write_tables([(first, two), (second, one), *rest], tmp_path / "out")
    with pytest.raises(ValueError, match="89 metrics files but 90 predictions files"):
        write_transfer_tables([metrics for metrics, _ in study[1:]], [path for _, path in study],
                              **output_paths(tmp_path), **STUDY, study=IDENTITY,
                              task_definitions=definitions(TASKS))


def test_denoise_cp_is_a_second_reference(tmp_path) -> None:
    objectives = ["source", "denoise-cp", "mt-m2m"]
    study = {**STUDY, "models": ["mbart"], "objectives": {"mbart": objectives}, "tasks": ["nli"]}
    runs = [write_run(tmp_path, ("mbart", objective, "nli", language, seed),
                      50 + 10 * objectives.index(objective) + LANGUAGE_OFFSET[language] + SEED_OFFSET[seed])
            for objective in objectives for language in LANGUAGES for seed in SEEDS]
    outputs = write_tables(runs, tmp_path / "out", study)
    tests = read_csv(outputs["tests_path"])
    compared = [(test["objective"], test["reference"]) for test in tests if test["column"] == "avg"]
    assert compared == [("denoise-cp", "source"), ("mt-m2m", "source"), ("mt-m2m", "denoise-cp")]
    avg = section_cells(outputs["markdown_path"].read_text(), "nli (accuracy)")[("mbart", "mt-m2m")][-1]
    assert avg.endswith("]†‡")  # +20 and +10 points on 200 examples
    findings = outputs["findings_path"].read_text()
    assert "## mbart vs denoise-cp\n\n- mbart mt-m2m vs denoise-cp, nli avg: +10.0 points [" in findings


def test_baselines_are_rows_of_their_own(study, tmp_path) -> None:
    baselines = [write_run(tmp_path / "baselines", ("baseline", name, task, language, 0), value)
                 for name, task, value in [("majority", "nli", 33), ("majority", "ner", 20),
                                           ("word-lookup", "ner", 30)]
                 for language in LANGUAGES]
    metrics, predictions = zip(*reversed(baselines), strict=True)
    outputs = write_tables(study, tmp_path / "out", baseline_metric_paths=metrics,
                           baseline_prediction_paths=predictions)
    markdown = outputs["markdown_path"].read_text()
    assert "Rows `baseline`: surface baselines, one run each" in markdown
    assert "3 runs per cell (3 fine-tuning seeds × 1 pretraining seed; a baseline row: 1 run)" in markdown
    nli = section_cells(markdown, "nli (accuracy)")
    assert list(nli)[:3] == [("baseline", "majority"), ("baseline", "word-lookup"), ("mbart", "source")]
    assert nli[("baseline", "word-lookup")] == ["–"] * 4  # tagging only
    assert re.fullmatch(r"33\.0 \[\d+\.\d, \d+\.\d\]", nli[("baseline", "majority")][0])
    summary = section_cells(markdown, "Summary")
    assert summary[("baseline", "majority")][-2:] == ["26.5", "33.0"]  # overall; overall-cls: nli only
    assert summary[("baseline", "word-lookup")][-2:] == ["–", "–"]
    assert not any(test["model"] == "baseline" for test in read_csv(outputs["tests_path"]))
    rows = read_csv(outputs["csv_path"])
    assert (rows[0]["model"], rows[0]["objective"], rows[0]["seeds"], rows[0]["nli.en.std"]) == (
        "baseline", "majority", "1", "NaN")
    assert read_json(outputs["summary_path"])["results"]["baseline"]["word-lookup"]["ner"]["avg"]["n"] == 1


def write_ranking_run(directory: Path, objective: str, language: str, noise: float) -> tuple[Path, Path]:
    """WPR-like predictions: 12 queries of 4 pages, ranked by the grade plus ``noise``."""
    rng = np.random.default_rng([len(objective), len(language)])
    ids = [f"wpr-{language}-{query}-{page}" for query in range(12) for page in range(4)]
    gold = [str(grade) for grade in rng.integers(0, 5, len(ids))]
    relevance = [float(grade) + noise * rng.normal() for grade in map(float, gold)]
    folder = directory / f"{objective}-{language}"
    write_parquet([{"id": i, "gold": g, "predicted": g, "relevance": r}
                   for i, g, r in zip(ids, gold, relevance, strict=True)], folder / "predictions.parquet")
    write_parquet([{"id": i, "text_a": i.rsplit("-", 1)[0]} for i in ids], directory / f"{language}.parquet")
    metrics = folder / "metrics.json"
    write_metrics(metrics, model="mbart", objective=objective, task="wpr", language=language,
                  pretraining_seed=1, seed=1,
                  metric="ndcg", score=ndcg([i.rsplit("-", 1)[0] for i in ids], [float(g) for g in gold],
                                            relevance), examples=len(ids))
    return metrics, folder / "predictions.parquet"


def test_ranking_pages_are_grouped_by_query(tmp_path) -> None:
    study = {**STUDY, "models": ["mbart"], "objectives": {"mbart": ["source", "mt-m2m"]}, "tasks": ["wpr"],
             "languages": ["en", "de"]}
    runs = [write_ranking_run(tmp_path, objective, language, noise)
            for objective, noise in [("source", 3.0), ("mt-m2m", 0.1)] for language in ("en", "de")]
    queries = [tmp_path / "en.parquet", tmp_path / "de.parquet"]
    outputs = write_tables(runs, tmp_path / "out", study, query_paths=queries)
    markdown = outputs["markdown_path"].read_text()
    assert "Scores in % (nDCG: wpr)" in markdown
    cell = section_cells(markdown, "wpr (nDCG)")[("mbart", "source")][1]
    assert re.fullmatch(r"\d+\.\d \[\d+\.\d, \d+\.\d\]", cell)
    assert [test["column"] for test in read_csv(outputs["tests_path"])] == ["en", "de", "avg"]
    with pytest.raises(ValueError, match="no query for 48 page"):
        write_tables(runs, tmp_path / "again", study)


# --- what a reader needs beside the numbers ------------------------------------------------------


def test_every_markdown_names_its_study(outputs) -> None:
    for name in ("markdown_path", "findings_path"):
        title, caption = outputs[name].read_text().split("\n\n")[:2]
        assert title.startswith("# ") and caption == CAPTION, name


def test_each_task_states_metric_direction_chance_test_size_and_runs(outputs) -> None:
    markdown = outputs["markdown_path"].read_text()
    runs = "3 runs per cell (3 fine-tuning seeds × 1 pretraining seed)"
    nli = markdown.split("## nli (accuracy)")[1].split("## ")[0]
    assert (f"nli: accuracy in %, higher is better; chance 33.3 (a uniform guess over 3 labels); "
            f"100 test examples per language; {runs}.") in nli
    ner = markdown.split("## ner (entity F1)")[1]
    assert (f"ner: entity F1 in %, higher is better; chance 0 (no entity predicted, e.g. every tag `O`); "
            f"100 test sentences per language; {runs}.") in ner
    summary = markdown.split("## Summary")[1].split("## nli")[0]
    assert "Higher is better in every column. Chance: nli 33.3, ner 0 " in summary


def test_chance_level_of_every_kind_of_task() -> None:
    levels = {task: chance_level(spec) for task, spec in definitions(["paraphrase", "pos", "wpr"]).items()}
    assert levels["paraphrase"] == ("50.0", "a uniform guess over 2 labels")
    assert levels["pos"] == ("9.1", "a uniform guess over 11 tags, token by token")
    assert levels["wpr"][0] == "no fixed level"


def test_a_tie_for_the_best_bolds_nothing(tmp_path) -> None:
    objectives = ["source", "mt-m2m", "random-init"]  # source and mt-m2m score alike everywhere
    study = {**STUDY, "models": ["mbart"], "objectives": {"mbart": objectives}, "tasks": ["nli"]}
    runs = [write_run(tmp_path, ("mbart", objective, "nli", language, seed),
                      50 - 10 * (objective == "random-init") + LANGUAGE_OFFSET[language] + SEED_OFFSET[seed])
            for objective in objectives for language in LANGUAGES for seed in SEEDS]
    summary = write_tables(runs, tmp_path / "out", study)["markdown_path"].read_text().split("## nli")[0]
    assert "| mbart | source | 70.0 ± 1.0 | 50.0 ± 1.0 |" in summary
    assert "**" not in summary
    assert unique_best(pd.Series([1.0, 3.0, 2.0, math.nan])).tolist() == [False, True, False, False]
    assert not unique_best(pd.Series([3.0, 3.0, 2.0])).any()


def test_csv_columns_empty_in_every_row_are_left_out() -> None:
    frame = pd.DataFrame({"a": [1.0, math.nan], "b": [math.nan, math.nan], "c": ["x", "y"]})
    assert list(without_empty_columns(frame).columns) == ["a", "c"]
    assert list(without_empty_columns(frame.iloc[:0]).columns) == ["a", "b", "c"]  # no rows: kept


def test_budget_table_names_its_study_and_leaves_out_empty_columns(tmp_path) -> None:
    folders = []
    for objective, tokens in (("source", 900), ("mt-m2m", 1000), ("denoise-cp", 1010)):
        folders.append(str(tmp_path / objective))
        write_json({"objective": objective, "seed": 1, "steps": 10, "sequences": 80, "tokens": tokens,
                    "target_tokens": 5}, tmp_path / objective / TRAINING_FILE)
    write_budget_table(checkpoints={"xlmr": folders[1:]}, seq2seq={"xlmr": False}, budget=1000,
                       study=IDENTITY, csv_path=tmp_path / "budget.csv", markdown_path=tmp_path / "budget.md")
    assert (tmp_path / "budget.md").read_text().split("\n\n")[1] == CAPTION
    assert "vs_budget" in (tmp_path / "budget.csv").read_text()
    write_budget_table(checkpoints={"xlmr": folders[:1]}, seq2seq={"xlmr": False}, budget=1000,
                       study=IDENTITY, csv_path=tmp_path / "budget.csv", markdown_path=tmp_path / "budget.md")
    assert "vs_budget" not in (tmp_path / "budget.csv").read_text()  # a source only: no share of the budget


# --- issue #15: spectral swaps against their continued objective, averages per resource level -------

SWAP_ROWS = {"source": 40, "mt-m2o": 80, "mt-m2o+source-spectrum": 42, "mt-m2o+source-vectors": 79}


def test_spectral_swaps_are_tested_against_their_continued_objective(tmp_path: Path) -> None:
    """The swap that restores the source's singular values lands back at the source (toward it, far from
    mt-m2o); the one with mt-m2o's values on the source's vectors lands at mt-m2o: both say the values
    matter. Per resource level, an `avg <level>` column, tested and stated like `avg`."""
    runs = [write_run(tmp_path / "runs", ("mbart", objective, "nli", language, seed),
                      base + LANGUAGE_OFFSET[language] / 4 + SEED_OFFSET[seed])
            for objective, base in SWAP_ROWS.items() for language in LANGUAGES for seed in SEEDS]
    study = {**STUDY, "models": ["mbart"], "objectives": {"mbart": list(SWAP_ROWS)}, "tasks": ["nli"]}
    out = write_tables(runs, tmp_path / "out", study, resource_levels={"high": ["en", "de"], "low": ["sw"]})
    tests = pd.read_csv(out["tests_path"])
    against_parent = tests[tests["reference"] == "mt-m2o"]
    assert set(against_parent["objective"]) == {"mt-m2o+source-spectrum", "mt-m2o+source-vectors"}
    assert {"avg", "avg high", "avg low"} <= set(tests["column"])
    findings = out["findings_path"].read_text()
    assert "## Spectral ablation" in findings
    assert ("- mbart mt-m2o+source-spectrum, nli avg: restoring the source's singular values moves transfer "
            "toward the source: the values matter.") in findings
    assert ("- mbart mt-m2o+source-vectors, nli avg: mt-m2o's singular values on the source's vectors move "
            "transfer the way mt-m2o does: the values matter.") in findings
    assert "- mbart mt-m2o vs source, nli avg low: +40.0 points" in findings
    header = out["csv_path"].read_text().splitlines()[0].split(",")
    assert "nli.avg low" in header and "nli.avg high" in header
    markdown = out["markdown_path"].read_text()
    assert "§" in markdown and "`avg low` over sw" in markdown


def test_a_single_resource_level_adds_no_column(tmp_path: Path) -> None:
    out = write_tables(write_study(tmp_path / "runs"), tmp_path / "out", resource_levels={"high": LANGUAGES})
    assert "avg high" not in out["csv_path"].read_text() and "§" not in out["markdown_path"].read_text()
