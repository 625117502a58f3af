"""Zero-shot transfer tables: per-run metrics files -> CSV, Markdown and a JSON summary.

Scores are percentages, mean ± sample std over fine-tuning seeds. Every average (a task's
``avg`` over the non-train languages, the ``overall`` mean of the task ``avg``s) is taken
within a seed first, so its std measures seed variance, not the spread between languages.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from mtbridge.evaluation import METRIC_FIELDS
from mtbridge.io import read_json, write_json, write_text

AVG = "avg"
OVERALL = "overall"
STATS = ("mean", "std", "n")
ROW_KEYS = ["model", "objective"]
RUN_KEYS = ["model", "objective", "task", "language", "seed"]
METRIC_NAMES = {"accuracy": "accuracy", "entity_f1": "entity F1", "ndcg": "nDCG"}
MISSING_CELL = "–"
SHOWN_MISSING = 10

Run = tuple[str, str, str, str, int]


# --- loading -------------------------------------------------------------------------------


def _read_record(path: Path) -> dict:
    try:
        record = read_json(path)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: not a readable metrics file ({error})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(record).__name__}")
    missing = [key for key in METRIC_FIELDS if key not in record]
    if missing:
        raise ValueError(f"{path}: missing key(s) {missing}; expected {list(METRIC_FIELDS)}")
    score = record["score"]
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise ValueError(f"{path}: score {score!r} is not a fraction in [0, 1]")
    return {key: record[key] for key in METRIC_FIELDS} | {"path": str(path)}


def _describe(run: Sequence) -> str:
    model, objective, task, language, seed = run
    return f"({model}, {objective}, {task}, {language}, seed {seed})"


def load_metrics(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Read metrics files into one frame: one row per run, plus the ``path`` it came from.

    Fails on the first unreadable or incomplete file, and on a run reported by two files,
    because either would silently change a mean in the tables.
    """
    records = [_read_record(Path(path)) for path in paths]
    frame = pd.DataFrame(records, columns=[*METRIC_FIELDS, "path"])
    duplicated = frame[frame.duplicated(RUN_KEYS, keep=False)]
    if not duplicated.empty:
        run, group = next(iter(duplicated.groupby(RUN_KEYS, sort=False)))
        raise ValueError(f"{_describe(run)} is reported twice: {', '.join(group['path'])}")
    return frame


# --- aggregation ---------------------------------------------------------------------------


def _languages(tasks: Sequence[str], languages: Sequence[str] | dict[str, Sequence[str]],
               train_language: str) -> dict[str, list[str]]:
    """Each task's languages, the train language first, then the test languages in configured order.

    ``languages`` is one list for every task, or a list per task (XGLUE tasks cover different languages).
    """
    per_task = languages if isinstance(languages, dict) else dict.fromkeys(tasks, languages)
    return {task: [train_language, *(lang for lang in per_task[task] if lang != train_language)]
            for task in tasks}


def _row_index(models: Sequence[str], objectives: dict[str, list[str]]) -> pd.MultiIndex:
    rows = [(model, objective) for model in models for objective in objectives[model]]
    return pd.MultiIndex.from_tuples(rows, names=ROW_KEYS)


def _seed_scores(
    metrics: pd.DataFrame, rows: pd.MultiIndex, languages: dict[str, list[str]]
) -> pd.DataFrame:
    """Percent scores per (row, task, column, seed), with ``avg`` over each task's ``languages[1:]``.

    A seed gets an ``avg`` only if it has every language, so a gap cannot shift the mean.
    Rows are sorted first: float sums then do not depend on the order the files were read.
    """
    selected = metrics.merge(rows.to_frame(index=False), on=ROW_KEYS).sort_values(RUN_KEYS)
    wanted = [(task, language) for task, columns in languages.items() for language in columns]
    pairs = pd.MultiIndex.from_frame(selected[["task", "language"]])
    selected = selected[pairs.isin(wanted)]
    scores = selected.assign(column=selected["language"], score=selected["score"] * 100.0)
    by_language = scores.pivot(
        index=[*ROW_KEYS, "task", "seed"], columns="language", values="score"
    )
    averages = pd.concat([
        _complete_mean(by_language.xs(task, level="task", drop_level=False), columns[1:])
        for task, columns in languages.items() if task in by_language.index.get_level_values("task")
    ] or [pd.Series(dtype=float, name="score")]).reset_index().assign(column=AVG)
    keep = [*ROW_KEYS, "task", "column", "seed", "score"]
    return pd.concat([scores[keep], averages.reindex(columns=keep)], ignore_index=True)


def _complete_mean(wide: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Row means over ``columns``, dropping rows that lack any of them."""
    return wide.reindex(columns=list(columns)).mean(axis=1, skipna=False).dropna().rename("score")


def _stats(scores: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean, sample std (ddof=1, so NaN for a single seed) and seed count per group."""
    grouped = scores.astype({"score": float}).groupby(keys)["score"]
    return grouped.agg(mean="mean", std="std", n="count")


def _table(scores: pd.DataFrame, rows: pd.MultiIndex, languages: dict[str, list[str]]) -> pd.DataFrame:
    columns = pd.MultiIndex.from_tuples(
        [(task, column, stat) for task, columns in languages.items()
         for column in [*columns, AVG] for stat in STATS],
        names=["task", "column", "stat"],
    )
    wide = _stats(scores, [*ROW_KEYS, "task", "column"]).unstack(["task", "column"])
    table = wide.reorder_levels([1, 2, 0], axis=1).reindex(index=rows, columns=columns)
    counts = table.columns.get_level_values("stat") == "n"
    table.loc[:, counts] = table.loc[:, counts].fillna(0)
    return table


def transfer_table(
    metrics: pd.DataFrame,
    *,
    models: list[str],
    objectives: dict[str, list[str]],
    tasks: list[str],
    languages: list[str] | dict[str, list[str]],
    train_language: str,
) -> pd.DataFrame:
    """Mean/std/n over seeds in percent, one row per (model, objective) in configured order.

    Columns are (task, language or ``avg``, stat), train language first; ``avg`` is the
    mean over the other languages. Missing results stay NaN with n = 0.
    """
    rows = _row_index(models, objectives)
    ordered = _languages(tasks, languages, train_language)
    return _table(_seed_scores(metrics, rows, ordered), rows, ordered)


def _overall(scores: pd.DataFrame, rows: pd.MultiIndex, tasks: Sequence[str]) -> pd.DataFrame:
    """Mean/std/n over seeds of each seed's mean over the task ``avg``s."""
    task_avgs = scores[scores["column"] == AVG].pivot(
        index=[*ROW_KEYS, "seed"], columns="task", values="score"
    )
    per_seed = _complete_mean(task_avgs, tasks).reset_index()
    return _stats(per_seed, ROW_KEYS).reindex(rows).fillna({"n": 0})


# --- checks --------------------------------------------------------------------------------


def _missing_runs(
    metrics: pd.DataFrame,
    rows: pd.MultiIndex,
    languages: dict[str, list[str]],
    seeds: Sequence[int],
) -> tuple[list[Run], int]:
    """The expected runs without a metrics file, and how many runs were expected."""
    present = set(metrics[RUN_KEYS].itertuples(index=False, name=None))
    expected = [
        (model, objective, task, language, seed)
        for model, objective in rows
        for task, columns in languages.items()
        for language in columns
        for seed in seeds
    ]
    return [run for run in expected if run not in present], len(expected)


def _missing_message(missing: Sequence[Run], expected: int) -> str:
    shown = ", ".join(_describe(run) for run in missing[:SHOWN_MISSING])
    more = f" and {len(missing) - SHOWN_MISSING} more" if len(missing) > SHOWN_MISSING else ""
    return f"{len(missing)} of {expected} expected results missing: {shown}{more}"


def _task_metrics(metrics: pd.DataFrame, tasks: Sequence[str]) -> dict[str, str]:
    """The one metric each task is scored with; scores of two metrics cannot be averaged."""
    found = metrics.groupby("task")["metric"].unique()
    result = {}
    for task in tasks:
        names = sorted(found.get(task, []))
        if len(names) != 1:
            raise ValueError(f"task {task!r}: expected results with one metric, found {names}")
        result[task] = names[0]
    return result


# --- rendering -----------------------------------------------------------------------------


def _cell_keys(table: pd.DataFrame) -> pd.Index:
    """The (task, column) pairs of a transfer table, in order."""
    return table.columns.droplevel("stat").unique()


def _stats_at(table: pd.DataFrame, task: str, column: str) -> pd.DataFrame:
    """One cell's mean/std/n for every row, as a frame with those three columns."""
    return pd.DataFrame({stat: table[(task, column, stat)] for stat in STATS})


def _csv(table: pd.DataFrame) -> str:
    """Wide CSV: ``seeds``, then ``{task}.{column}`` (mean) and ``{task}.{column}.std``."""
    out = table.index.to_frame(index=False)
    out["seeds"] = table.xs("n", axis=1, level="stat").max(axis=1).astype(int).to_numpy()
    for task, column in _cell_keys(table):
        for stat, suffix in (("mean", ""), ("std", ".std")):
            out[f"{task}.{column}{suffix}"] = table[(task, column, stat)].round(2).to_numpy()
    return out.to_csv(index=False, float_format="%.2f", na_rep="NaN", lineterminator="\n")


def _cell(stats: pd.Series, seeds: int) -> str:
    """One decimal, ``mean ± std`` (no std for one seed), ``(n=k)`` if seeds are missing."""
    n = int(stats["n"])
    if n == 0:
        return MISSING_CELL
    text = f"{stats['mean']:.1f}" if n == 1 else f"{stats['mean']:.1f} ± {stats['std']:.1f}"
    return text if n == seeds else f"{text} (n={n})"


def _cells(stats: pd.DataFrame, seeds: int, bold_best: bool = False) -> list[str]:
    """A column's cells; with ``bold_best`` the highest shown mean is bold (ties all bold)."""
    shown = stats["mean"].round(1)
    best = shown.max() if bold_best else math.nan
    cells = [_cell(row, seeds) for _, row in stats.iterrows()]
    return [
        f"**{cell}**" if value == best else cell for value, cell in zip(shown, cells, strict=True)
    ]


def pipe_table(lines: Iterable[Sequence[str]]) -> str:
    """GitHub Markdown table rows from lines of cells (header, alignment rule, body)."""
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n"


def _markdown_table(
    title: str, rows: pd.Index, header: Sequence[str], columns: Sequence[list[str]]
) -> str:
    """A pipe table: ``model | objective`` row labels, then right-aligned value columns."""
    return f"## {title}\n\n" + pipe_table([
        ["model", "objective", *header],
        ["---", "---", *(["---:"] * len(header))],
        *([*row, *cells] for row, *cells in zip(rows, *columns, strict=True)),
    ])


def _summary_section(
    table: pd.DataFrame, overall: pd.DataFrame, train_language: str, seeds: int
) -> str:
    tasks = table.columns.get_level_values("task").unique()
    picked = [(task, column) for task in tasks for column in (train_language, AVG)]
    stats = [*(_stats_at(table, *pick) for pick in picked), overall]
    header = [*(f"{task} {column}" for task, column in picked), OVERALL]
    columns = [_cells(column, seeds, bold_best=True) for column in stats]
    return _markdown_table("Summary", table.index, header, columns)


def _task_section(table: pd.DataFrame, task: str, metric: str, seeds: int) -> str:
    header = [column for key, column in _cell_keys(table) if key == task]
    columns = [_cells(_stats_at(table, task, column), seeds) for column in header]
    title = f"{task} ({METRIC_NAMES.get(metric, metric)})"
    return _markdown_table(title, table.index, header, columns)


def _legend(
    task_metrics: dict[str, str], train_language: str, seeds: Sequence[int], missing: int
) -> str:
    by_metric: dict[str, list[str]] = {}
    for task, metric in task_metrics.items():
        by_metric.setdefault(METRIC_NAMES.get(metric, metric), []).append(task)
    metrics = "; ".join(f"{name}: {', '.join(tasks)}" for name, tasks in by_metric.items())
    listed = ", ".join(map(str, seeds))
    spread = (
        f"mean ± std over {len(seeds)} seeds ({listed})"
        if len(seeds) > 1
        else f"a single seed ({listed}), so no std"
    )
    gap = (
        f" Incomplete, {missing} of the runs missing: {MISSING_CELL} = no result, "
        "(n=k) = only k seeds."
        if missing
        else ""
    )
    return (
        f"Scores in % ({metrics}), fine-tuned on `{train_language}` and tested zero-shot; "
        f"{spread}; {AVG} = mean over the languages other than `{train_language}`, "
        f"{OVERALL} = mean of the task {AVG}s, both taken per seed first.{gap}"
    )


def _markdown(
    table: pd.DataFrame,
    overall: pd.DataFrame,
    *,
    task_metrics: dict[str, str],
    train_language: str,
    seeds: Sequence[int],
    missing: int,
) -> str:
    n = len(seeds)
    sections = [
        "# Zero-shot cross-lingual transfer\n",
        _legend(task_metrics, train_language, seeds, missing) + "\n",
        _summary_section(table, overall, train_language, n),
        *(_task_section(table, task, metric, n) for task, metric in task_metrics.items()),
    ]
    return "\n".join(sections)


def _json_stats(stats: pd.Series) -> dict:
    """Stats for JSON, NaN (no result, or one seed's std) written as null."""
    mean, std = (None if math.isnan(stats[key]) else float(stats[key]) for key in ("mean", "std"))
    return {"mean": mean, "std": std, "n": int(stats["n"])}


def _summary(
    table: pd.DataFrame,
    overall: pd.DataFrame,
    *,
    task_metrics: dict[str, str],
    train_language: str,
    seeds: Sequence[int],
) -> dict:
    """The JSON summary: ``results`` by model/objective/task/column, ``overall`` by row."""
    results: dict = {}
    for task, column in _cell_keys(table):
        for (model, objective), stats in _stats_at(table, task, column).iterrows():
            by_task = results.setdefault(model, {}).setdefault(objective, {})
            by_task.setdefault(task, {})[column] = _json_stats(stats)
    overall_results: dict = {}
    for (model, objective), stats in overall.iterrows():
        overall_results.setdefault(model, {})[objective] = _json_stats(stats)
    return {
        "tasks": task_metrics,
        "train_language": train_language,
        "seeds": list(seeds),
        "results": results,
        OVERALL: overall_results,
    }


def _study_metrics(
    metric_paths: Iterable[str | os.PathLike],
    rows: pd.MultiIndex,
    languages: dict[str, list[str]],
    seeds: Sequence[int] | None,
    allow_missing: bool,
) -> tuple[pd.DataFrame, list[int], int]:
    """The metrics of the configured seeds, those seeds, and how many runs are missing."""
    metrics = load_metrics(metric_paths)
    if seeds is None:
        seeds = metrics.merge(rows.to_frame(index=False), on=ROW_KEYS)["seed"].unique()
    seeds = sorted(int(seed) for seed in seeds)
    if not seeds:
        raise ValueError("no metrics found for the configured models and objectives")
    missing, expected = _missing_runs(metrics, rows, languages, seeds)
    if missing and not allow_missing:
        raise ValueError(_missing_message(missing, expected))
    return metrics[metrics["seed"].isin(seeds)], seeds, len(missing)


def write_transfer_tables(
    metric_paths: Iterable[str | os.PathLike],
    *,
    csv_path: str | os.PathLike,
    markdown_path: str | os.PathLike,
    summary_path: str | os.PathLike,
    models: list[str],
    objectives: dict[str, list[str]],
    tasks: list[str],
    languages: list[str] | dict[str, list[str]],
    train_language: str,
    seeds: Sequence[int] | None = None,
    allow_missing: bool = False,
) -> None:
    """Write the transfer CSV, Markdown and JSON summary from per-run metrics files.

    Every configured (model, objective, task, language, seed) must have a result, since a
    partial mean looks just like a full one. ``allow_missing`` is for a preview while runs
    finish: gaps render as "–", cells short of seeds as "(n=k)", and the legend says so.
    ``seeds`` defaults to every seed found for the configured rows; results outside the
    configured study are ignored.
    """
    rows = _row_index(models, objectives)
    ordered = _languages(tasks, languages, train_language)
    metrics, seeds, missing = _study_metrics(metric_paths, rows, ordered, seeds, allow_missing)
    scores = _seed_scores(metrics, rows, ordered)
    table = _table(scores, rows, ordered)
    overall = _overall(scores, rows, tasks)
    context = {
        "task_metrics": _task_metrics(metrics, tasks),
        "train_language": train_language,
        "seeds": seeds,
    }
    write_text(_csv(table), csv_path)
    write_text(_markdown(table, overall, missing=missing, **context), markdown_path)
    write_json(_summary(table, overall, **context), summary_path)
