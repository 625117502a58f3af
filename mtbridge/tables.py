"""Zero-shot transfer tables: per-run metrics and predictions -> CSV, Markdown, tests, findings, JSON.

Scores are percentages, mean ± sample std over fine-tuning seeds, with a 95% bootstrap interval
over test examples and seeds (``mtbridge.statistics``). Every average (a task's ``avg`` over the
non-train languages, an ``overall`` mean of task ``avg``s) is taken within a seed, and within a
bootstrap replicate, first, so its spread measures seeds and test examples, not the spread between
languages. Each objective is tested against its family's ``source`` and ``denoise-cp`` on the same
examples and seeds, Holm-corrected over the whole table; surface baselines are rows of their own,
with intervals over test examples, and are never tested.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from mtbridge.aliases import PathLike
from mtbridge.evaluation import METRIC_FIELDS
from mtbridge.io import read_json, read_parquet, write_json, write_text
from mtbridge.statistics import (
    ALPHA,
    RESAMPLES,
    compare,
    example_statistics,
    holm,
    interval,
    replicates,
    score_from_sums,
)
from mtbridge.tabular import pipe_table, titled, unique_best, without_empty_columns
from mtbridge.tasks import BASELINES

AVG = "avg"
OVERALL = "overall"
OVERALL_CLASSIFICATION = "overall-cls"
STATS = ("mean", "std", "n", "ci_low", "ci_high")
ROW_KEYS = ["model", "objective"]
RUN_KEYS = ["model", "objective", "task", "language", "seed"]
RUN_STRIDE = 1000  # a run's number: its fine-tuning seed + RUN_STRIDE × (its pretraining seed − 1)
CELL_KEYS = [*ROW_KEYS, "task", "column"]
METRIC_NAMES = {"accuracy": "accuracy", "entity_f1": "entity F1", "ndcg": "nDCG"}
MISSING_CELL = "–"
SHOWN_MISSING = 10
BASELINE = "baseline"  # the model name of the surface baselines' rows (mtbridge.baselines)
# what each objective is tested against, and its mark; `mlm-cp` is a masked-LM family's control
REFERENCES = {"source": "†", "denoise-cp": "‡", "mlm-cp": "‡"}
PAPER_REFERENCES = ("source", "denoise-cp")
ENCODER_CONTROL = "mlm-cp"  # denoise-cp of a masked-LM family: masked LM continued
PARENT_MARK = "§"  # a spectral swap (`X+source-spectrum`) against its continued objective X
SWAP = "+"  # in a spectral swap's name: `<continued>+source-spectrum` / `<continued>+source-vectors`
TOLERANCE = 1e-9  # how far a score recomputed from a predictions file may be from its metrics file
TEST_COLUMNS = ["model", "task", "column", "objective", "reference", "effect", "ci_low", "ci_high",
                "p", "p_bootstrap", "p_holm", "significant"]

Run = tuple[str, str, str, str, int]
Cell = tuple[str, str, str, str]  # model, objective, task, column
Replicates = dict[Cell, tuple[tuple[int, ...], np.ndarray]]  # the seeds covered, percent replicates


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


def run_number(pretraining_seed: int, seed: int) -> int:
    """One number per (pretraining seed, fine-tuning seed): the unit the tables average over and the
    bootstrap draws. With one pretraining seed (1) it is the fine-tuning seed."""
    return seed + RUN_STRIDE * (max(pretraining_seed, 1) - 1)


def load_metrics(paths: Iterable[PathLike]) -> pd.DataFrame:
    """Read metrics files into one frame: one row per run, plus the ``path`` it came from; ``seed``
    holds the run's number (``run_number``).

    Fails on the first unreadable or incomplete file, and on a run reported by two files,
    because either would silently change a mean in the tables.
    """
    records = [_read_record(Path(path)) for path in paths]
    for record in records:
        record["seed"] = run_number(record["pretraining_seed"], record["seed"])
    frame = pd.DataFrame(records, columns=[*METRIC_FIELDS, "path"])
    duplicated = frame[frame.duplicated(RUN_KEYS, keep=False)]
    if not duplicated.empty:
        run, group = next(iter(duplicated.groupby(RUN_KEYS, sort=False)))
        raise ValueError(f"{_describe(run)} is reported twice: {', '.join(group['path'])}")
    return frame


def load_runs(
    metric_paths: Iterable[PathLike], prediction_paths: Iterable[PathLike]
) -> pd.DataFrame:
    """``load_metrics`` plus a ``predictions`` column: the i-th predictions file belongs to the i-th
    metrics file (the rules list both in one order; each run's score is checked against its file)."""
    metric_paths, prediction_paths = list(metric_paths), [str(path) for path in prediction_paths]
    if len(metric_paths) != len(prediction_paths):
        raise ValueError(f"{len(metric_paths)} metrics files but {len(prediction_paths)} predictions files")
    return load_metrics(metric_paths).assign(predictions=prediction_paths)


def _queries(paths: Iterable[PathLike]) -> dict[str, str]:
    """Each page's query (``text_a`` of a ranking task's test split), by example id."""
    queries: dict[str, str] = {}
    for path in paths:
        table = read_parquet(path)
        queries.update(zip(table.column("id").to_pylist(), table.column("text_a").to_pylist(), strict=True))
    return queries


def _run_statistics(run: pd.Series, queries: Mapping[str, str]) -> tuple[tuple[str, ...], np.ndarray, bool]:
    """One run's example ids, per-example statistics, and whether it labels whole examples by accuracy.

    The score recomputed from the predictions must match the metrics file: a predictions file from
    another run (or a stale one) would otherwise lend a cell someone else's interval.
    """
    path, metric = run["predictions"], run["metric"]
    table = read_parquet(path)
    ids, gold, predicted = (table.column(name).to_pylist() for name in ("id", "gold", "predicted"))
    if len(ids) != run["examples"]:
        raise ValueError(f"{path}: {len(ids)} predictions, but {run['path']} counts {run['examples']}")
    if metric == "ndcg":
        unknown = [key for key in ids if key not in queries]
        if unknown:
            raise ValueError(f"{path}: no query for {len(unknown)} page(s), e.g. {unknown[0]!r}; "
                             "is the task's test split among the query files?")
        stats = example_statistics(metric, [float(grade) for grade in gold],
                                   table.column("relevance").to_pylist(), [queries[key] for key in ids])
    else:
        stats = example_statistics(metric, gold, predicted)
    score = float(score_from_sums(metric, stats.sum(axis=0)))
    if abs(score - run["score"]) > TOLERANCE:
        raise ValueError(f"{path} scores {score:.6f}, but {run['path']} says {run['score']:.6f}: "
                         "not the same run")
    return tuple(ids), stats, metric == "accuracy" and isinstance(gold[0], str)


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


def _baseline_rows(baselines: pd.DataFrame) -> list[tuple[str, str]]:
    """The baselines found, in ``mtbridge.tasks.BASELINES`` order (unknown ones after, sorted)."""
    found = set(baselines["objective"])
    ordered = [name for name in BASELINES if name in found] + sorted(found - set(BASELINES))
    return [(BASELINE, name) for name in ordered]


def _selected(metrics: pd.DataFrame, rows: pd.MultiIndex, languages: dict[str, list[str]]) -> pd.DataFrame:
    """The runs of the table's rows, tasks and languages, sorted: float sums then do not depend on
    the order the files were read."""
    selected = metrics.merge(rows.to_frame(index=False), on=ROW_KEYS).sort_values(RUN_KEYS)
    wanted = [(task, language) for task, columns in languages.items() for language in columns]
    return selected[pd.MultiIndex.from_frame(selected[["task", "language"]]).isin(wanted)]


def level_column(level: str) -> str:
    """The column of a resource level's average: ``avg low``."""
    return f"{AVG} {level}"


def _averages(languages: dict[str, list[str]], levels: Mapping[str, Sequence[str]] | None
              ) -> dict[str, dict[str, list[str]]]:
    """Per task, each averaged column and the languages it averages: ``avg`` over ``languages[1:]``, and
    with more than one resource level, ``avg <level>`` over the level's languages among them."""
    groups = {}
    for task, columns in languages.items():
        groups[task] = {AVG: columns[1:]}
        if levels and len(levels) > 1:
            for level, members in levels.items():
                chosen = [language for language in columns[1:] if language in members]
                if chosen:
                    groups[task][level_column(level)] = chosen
    return groups


def _seed_scores(selected: pd.DataFrame, languages: dict[str, list[str]],
                 averages: dict[str, dict[str, list[str]]] | None = None) -> pd.DataFrame:
    """Percent scores per (row, task, column, seed), with ``avg`` over each task's ``languages[1:]`` (and
    each other averaged column of ``averages``, ``_averages``).

    A seed gets an average only if it has every language of it, so a gap cannot shift the mean.
    """
    averages = averages or _averages(languages, None)
    scores = selected.assign(column=selected["language"], score=selected["score"] * 100.0)
    by_language = scores.pivot(
        index=[*ROW_KEYS, "task", "seed"], columns="language", values="score"
    )
    means = [_complete_mean(by_language.xs(task, level="task", drop_level=False), members).reset_index()
             .assign(column=column)
             for task in languages if task in by_language.index.get_level_values("task")
             for column, members in averages[task].items()]
    keep = [*ROW_KEYS, "task", "column", "seed", "score"]
    frames = [scores[keep], *(frame.reindex(columns=keep) for frame in means)]
    return pd.concat(frames, ignore_index=True)


def _complete_mean(wide: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Row means over ``columns``, dropping rows that lack any of them."""
    return wide.reindex(columns=list(columns)).mean(axis=1, skipna=False).dropna().rename("score")


def _stats(scores: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean, sample std (ddof=1, so NaN for a single seed) and seed count per group."""
    grouped = scores.astype({"score": float}).groupby(keys)["score"]
    return grouped.agg(mean="mean", std="std", n="count")


def _mean_replicates(parts: Sequence[tuple[tuple[int, ...], np.ndarray] | None]
                     ) -> tuple[tuple[int, ...], np.ndarray] | None:
    """The per-replicate mean of several cells' replicates (an average), if all exist on one seed set."""
    if not parts or any(part is None for part in parts) or len({part[0] for part in parts}) > 1:
        return None
    return parts[0][0], np.mean([part[1] for part in parts], axis=0)


def _bootstrap(
    selected: pd.DataFrame, languages: dict[str, list[str]], queries: Mapping[str, str], resamples: int,
    averages: dict[str, dict[str, list[str]]] | None = None,
) -> tuple[Replicates, set[str]]:
    """Percent bootstrap replicates per cell, with ``avg`` per replicate, and the tasks that label
    whole examples by accuracy (the classification tasks).

    A test set's examples are drawn once for every row (its key is ``task/language``), so the rows'
    replicates are paired; every run of a test set must hold the same examples in the same order.
    """
    averages = averages or _averages(languages, None)
    result: Replicates = {}
    classification = set()
    for task, columns in languages.items():
        for language in columns:
            cell = selected[(selected["task"] == task) & (selected["language"] == language)]
            expected_ids = None
            for (model, objective), runs in cell.groupby(ROW_KEYS, sort=False):
                loaded = [_run_statistics(run, queries) for _, run in runs.iterrows()]
                for ids, _, whole in loaded:
                    expected_ids = expected_ids or ids
                    if ids != expected_ids:
                        raise ValueError(f"{task}/{language}: the runs' predictions cover different "
                                         f"examples ({runs['predictions'].iloc[0]})")
                    if whole:
                        classification.add(task)
                stats = np.stack([stats for _, stats, _ in loaded])
                values = replicates(runs["metric"].iloc[0], stats, f"{task}/{language}", resamples)
                result[(model, objective, task, language)] = (tuple(runs["seed"]), 100.0 * values)
        for model, objective in selected[ROW_KEYS].drop_duplicates().itertuples(index=False):
            for averaged, members in averages[task].items():
                parts = [result.get((model, objective, task, column)) for column in members]
                average = _mean_replicates(parts)
                if average is not None:
                    result[(model, objective, task, averaged)] = average
    return result, classification


def _intervals(replicated: Replicates) -> pd.DataFrame:
    """Each cell's 95% percentile interval."""
    levels = [list(level) for level in zip(*replicated, strict=True)] or [[]] * len(CELL_KEYS)
    index = pd.MultiIndex.from_arrays(levels, names=CELL_KEYS)
    bounds = [interval(values) for _, values in replicated.values()]
    return pd.DataFrame(bounds, index=index, columns=["ci_low", "ci_high"], dtype=float)


def _table(scores: pd.DataFrame, rows: pd.MultiIndex, languages: dict[str, list[str]],
           intervals: pd.DataFrame, averages: dict[str, dict[str, list[str]]] | None = None) -> pd.DataFrame:
    averages = averages or _averages(languages, None)
    columns = pd.MultiIndex.from_tuples(
        [(task, column, stat) for task, columns in languages.items()
         for column in [*columns, *averages[task]] for stat in STATS],
        names=["task", "column", "stat"],
    )
    wide = _stats(scores, CELL_KEYS).join(intervals).unstack(["task", "column"])
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
    mean over the other languages. Missing results stay NaN with n = 0; so do the intervals,
    which need the predictions (``write_transfer_tables``).
    """
    rows = _row_index(models, objectives)
    ordered = _languages(tasks, languages, train_language)
    return _table(_seed_scores(_selected(metrics, rows, ordered), ordered), rows, ordered, _intervals({}))


def _overall(scores: pd.DataFrame, rows: pd.MultiIndex, tasks: Sequence[str],
             replicated: Replicates) -> pd.DataFrame:
    """Mean/std/n over seeds of each seed's mean over the ``tasks``' ``avg``s, and its interval."""
    task_avgs = scores[scores["column"] == AVG].pivot(
        index=[*ROW_KEYS, "seed"], columns="task", values="score"
    )
    per_seed = _complete_mean(task_avgs, tasks).reset_index()
    overall = _stats(per_seed, ROW_KEYS).reindex(rows).fillna({"n": 0})
    averages = [_mean_replicates([replicated.get((*row, task, AVG)) for task in tasks]) for row in rows]
    overall[["ci_low", "ci_high"]] = [interval(average[1]) if average else (math.nan, math.nan)
                                      for average in averages]
    return overall


# --- tests ---------------------------------------------------------------------------------


def _tests(table: pd.DataFrame, replicated: Replicates, models: Sequence[str],
           objectives: dict[str, list[str]], seeds: Sequence[int]) -> pd.DataFrame:
    """Each objective against each reference of its family (``REFERENCES``; a reference against an
    earlier one once), in every cell where both have every seed; Holm over all of them."""
    complete = tuple(seeds)
    records = []
    for model in models:
        references = [name for name in REFERENCES if name in objectives[model]]
        pairs = [(objective, reference) for position, reference in enumerate(references)
                 for objective in objectives[model] if objective not in references[: position + 1]]
        # a spectral swap also against the continued objective it is derived from (its parent)
        pairs += [(objective, parent) for objective in objectives[model]
                  if (parent := swap_parent(objective)) and parent in objectives[model]
                  and parent not in references]
        for objective, reference in pairs:
            for task, column in _cell_keys(table):
                a = replicated.get((model, objective, task, column))
                b = replicated.get((model, reference, task, column))
                if a is None or b is None or a[0] != complete or b[0] != complete:
                    continue
                means = [table.loc[(model, name), (task, column, "mean")] for name in (objective, reference)]
                records.append({"model": model, "task": task, "column": column, "objective": objective,
                                "reference": reference, **asdict(compare(*means, a[1], b[1]))})
    tests = pd.DataFrame(records, columns=TEST_COLUMNS[:-2])
    tests["p_holm"] = holm(tests["p"].to_numpy())
    tests["significant"] = tests["p_holm"] < ALPHA
    return tests[TEST_COLUMNS]


def swap_parent(objective: str) -> str | None:
    """The continued objective a spectral swap is derived from (``mt-m2o+source-spectrum``: mt-m2o)."""
    return objective.partition(SWAP)[0] if SWAP in objective else None


def _mark_of(reference: str) -> str:
    return REFERENCES.get(reference, PARENT_MARK)


def _tests_csv(tests: pd.DataFrame) -> str:
    """Effects in points with two decimals; p-values with three significant digits."""
    shown = tests.copy()
    for name in ("effect", "ci_low", "ci_high"):
        shown[name] = shown[name].map("{:.2f}".format)
    for name in ("p", "p_bootstrap", "p_holm"):
        shown[name] = shown[name].map("{:.3g}".format)
    return shown.to_csv(index=False, lineterminator="\n")


def _marks(tests: pd.DataFrame) -> dict[Cell, str]:
    """The marks of each cell's significant differences, in ``REFERENCES`` order."""
    marks: dict[Cell, str] = {}
    for test in tests[tests["significant"]].itertuples(index=False):
        key = (test.model, test.objective, test.task, test.column)
        marks[key] = marks.get(key, "") + _mark_of(test.reference)
    return marks


def _p_text(p: float) -> str:
    return "p_holm < 0.001" if p < 0.001 else f"p_holm = {p:.3f}"


def _references_text(tests: pd.DataFrame) -> str:
    """The references tested, as the findings and legend name them: `source` and the control(s)."""
    text = " and ".join(f"`{name}`" for name in PAPER_REFERENCES)
    if ENCODER_CONTROL in set(tests["reference"]):
        text += f" (`{ENCODER_CONTROL}` for a masked-LM family)"
    return text


def _averaged(column: str) -> bool:
    """A task average: ``avg``, or a resource level's ``avg <level>``."""
    return column == AVG or column.startswith(f"{AVG} ")


def _claim(test, model: str, reference: str) -> str:
    return (f"{model} {test.objective} vs {reference}, {test.task} {test.column}: {test.effect:+.1f} points "
            f"[{test.ci_low:.1f}, {test.ci_high:.1f}], {_p_text(test.p_holm)} "
            f"({'significant' if test.significant else 'not significant'})")


def _effect(test) -> str:
    return f"{test.effect:+.1f} [{test.ci_low:.1f}, {test.ci_high:.1f}], {_p_text(test.p_holm)}"


def _swap_verdict(objective: str, parent: str, to_parent, to_source, parent_test) -> str:
    """Whether a swap moved transfer as the singular values being the cause predicts."""
    direction = np.sign(parent_test.effect)  # where the continued model sits relative to source
    if objective.endswith("+source-spectrum"):
        moved = to_parent.significant and direction != 0 and np.sign(to_parent.effect) == -direction
        return ("restoring the source's singular values moves transfer toward the source: the values matter"
                if moved else "restoring the source's singular values does not move transfer toward the "
                f"source: the values alone do not explain {parent}'s difference")
    moved = to_source.significant and direction != 0 and np.sign(to_source.effect) == direction
    return (f"{parent}'s singular values on the source's vectors move transfer the way {parent} does: the "
            f"values matter" if moved else f"{parent}'s singular values on the source's vectors do not move "
            f"transfer the way {parent} does")


def _findings(tests: pd.DataFrame, *, train_language: str, seeds: Sequence[int], resamples: int,
              tests_name: str, study: Mapping[str, str]) -> str:
    """The claims: one sentence per task-avg test (and per resource level's avg), grouped by family and
    reference; then, for each spectral swap, whether restoring the singular values moves transfer."""
    listed = _listed(seeds)
    levels = sorted({column for column in tests["column"] if _averaged(column) and column != AVG})
    per_level = (f" Where languages have resource levels, also each level's avg (`{AVG} <level>`, over "
                 f"that level's languages other than `{train_language}`)." if levels else "")
    lines = [
        titled("Findings", study),
        f"Tested: each objective against its family's {_references_text(tests)} on "
        f"the same test examples and fine-tuning seeds ({listed}), by a paired bootstrap over examples "
        f"and seeds (B = {resamples}); effect = difference in points with its 95% percentile interval, "
        f"two-sided p from the replicates (their normal tail beyond B's resolution), Holm-corrected "
        f"over all {len(tests)} tests of the transfer table (every language and task avg; each in "
        f"`{tests_name}`), significant at p_holm < {ALPHA}. Below: the task avgs, over the languages "
        f"other than `{train_language}`.{per_level}\n",
    ]
    claims = tests[tests["column"].map(_averaged)]
    if claims.empty:
        lines.append("No objective shares a family with a reference, so nothing was tested.\n")
    for (model, reference), group in claims.groupby(["model", "reference"], sort=False):
        lines.append(f"## {model} vs {reference}\n")
        lines.extend(f"- {_claim(test, model, reference)}" for test in group.itertuples(index=False))
        lines.append("")
    lines.extend(_spectral_findings(claims))
    return "\n".join(lines)


def _spectral_findings(claims: pd.DataFrame) -> list[str]:
    """Per spectral swap and task avg: does giving a continued model the source's singular values
    (``X+source-spectrum``) move its transfer back toward the source, and do the continued values alone
    (``X+source-vectors``, the source's vectors) move the source's transfer the way X does?"""
    found = {(test.model, test.objective, test.reference, test.task, test.column): test
             for test in claims.itertuples(index=False)}
    swaps = [(model, objective, task, column) for model, objective, reference, task, column in found
             if reference == "source" and swap_parent(objective)]
    if not swaps:
        return []
    lines = ["## Spectral ablation: are the larger singular values the cause?\n",
             "Each swap against its continued objective X (§) and against `source`, beside X against "
             "`source`. Restoring the source's singular values (`X+source-spectrum`) moves transfer "
             "toward the source when it differs significantly from X in the direction of `source`; X's "
             "values on the source's vectors (`X+source-vectors`) reproduce X when they differ from "
             "`source` in X's direction.\n"]
    for model, objective, task, column in swaps:
        parent = swap_parent(objective)
        to_source = found[(model, objective, "source", task, column)]
        to_parent = found.get((model, objective, parent, task, column))
        parent_test = found.get((model, parent, "source", task, column))
        if to_parent is None or parent_test is None:
            continue
        verdict = _swap_verdict(objective, parent, to_parent, to_source, parent_test)
        lines.append(f"- {model} {objective}, {task} {column}: {verdict}. "
                     f"Against {parent}: {_effect(to_parent)}; against source: {_effect(to_source)}; "
                     f"{parent} against source: {_effect(parent_test)}.")
    lines.append("")
    return lines


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
    """One cell's stats for every row, as a frame with one column per stat."""
    return pd.DataFrame({stat: table[(task, column, stat)] for stat in STATS})


def _csv(table: pd.DataFrame) -> str:
    """Wide CSV: ``seeds``, then ``{task}.{column}`` (mean), ``.std``, ``.ci_low`` and ``.ci_high``;
    a column with no value in any row (every std of a single seed) is left out."""
    columns = {"seeds": table.xs("n", axis=1, level="stat").max(axis=1).astype(int).to_numpy()}
    for task, column in _cell_keys(table):
        for stat, suffix in (("mean", ""), ("std", ".std"), ("ci_low", ".ci_low"), ("ci_high", ".ci_high")):
            columns[f"{task}.{column}{suffix}"] = table[(task, column, stat)].round(2).to_numpy()
    out = without_empty_columns(pd.concat([table.index.to_frame(index=False), pd.DataFrame(columns)], axis=1))
    return out.to_csv(index=False, float_format="%.2f", na_rep="NaN", lineterminator="\n")


def _cell(stats: pd.Series, seeds: int, with_interval: bool) -> str:
    """One decimal, ``mean ± std`` (no std for one seed), ``[low, high]`` with ``with_interval``,
    ``(n=k)`` if seeds are missing."""
    n = int(stats["n"])
    if n == 0:
        return MISSING_CELL
    text = f"{stats['mean']:.1f}" if n == 1 else f"{stats['mean']:.1f} ± {stats['std']:.1f}"
    if with_interval and not math.isnan(stats["ci_low"]):
        text += f" [{stats['ci_low']:.1f}, {stats['ci_high']:.1f}]"
    return text if n == seeds else f"{text} (n={n})"


def _cells(stats: pd.DataFrame, seeds: pd.Series, marks: Sequence[str], *, with_interval: bool = False,
           bold_best: bool = False) -> list[str]:
    """A column's cells, each row against its own seed count and followed by its marks; with
    ``bold_best`` the highest shown mean is bold if no other row shows the same."""
    bold = unique_best(stats["mean"].round(1)) & bold_best
    cells = [_cell(row, seeds[key], with_interval) for key, row in stats.iterrows()]
    return [f"**{cell}**{mark}" if strong else f"{cell}{mark}"
            for strong, cell, mark in zip(bold, cells, marks, strict=True)]


def _markdown_table(
    title: str, rows: pd.Index, header: Sequence[str], columns: Sequence[list[str]]
) -> str:
    """A pipe table: ``model | objective`` row labels, then right-aligned value columns."""
    return f"## {title}\n\n" + pipe_table([
        ["model", "objective", *header],
        ["---", "---", *(["---:"] * len(header))],
        *([*row, *cells] for row, *cells in zip(rows, *columns, strict=True)),
    ])


def _column_marks(table: pd.DataFrame, marks: Mapping[Cell, str], task: str, column: str) -> list[str]:
    return [marks.get((*row, task, column), "") for row in table.index]


def _summary_section(table: pd.DataFrame, overall: dict[str, pd.DataFrame], train_language: str,
                     seeds: pd.Series, marks: Mapping[Cell, str], chance: str) -> str:
    tasks = table.columns.get_level_values("task").unique()
    picked = [(task, column) for task in tasks for column in (train_language, AVG)]
    columns = [_cells(_stats_at(table, *pick), seeds, _column_marks(table, marks, *pick), bold_best=True)
               for pick in picked]
    columns += [_cells(stats, seeds, [""] * len(stats), bold_best=True) for stats in overall.values()]
    header = [*(f"{task} {column}" for task, column in picked), *overall]
    return _markdown_table("Summary", table.index, header, columns) + f"\n{chance}"


def _task_section(table: pd.DataFrame, task: str, metric: str, seeds: pd.Series,
                  marks: Mapping[Cell, str], caption: str) -> str:
    header = [column for key, column in _cell_keys(table) if key == task]
    columns = [_cells(_stats_at(table, task, column), seeds, _column_marks(table, marks, task, column),
                      with_interval=True) for column in header]
    title = f"{task} ({METRIC_NAMES.get(metric, metric)})"
    return _markdown_table(title, table.index, header, columns) + f"\n{caption}\n"


def chance_level(definition: Mapping) -> tuple[str, str]:
    """What guessing scores on a task, in percent, and what guessing means there."""
    labels = len(definition["labels"])
    if definition["metric"] == "entity_f1":
        return "0", "no entity predicted, e.g. every tag `O`"
    if definition["metric"] == "ndcg":
        return "no fixed level", "a random page order's nDCG depends on each query's grades"
    if definition["kind"] == "tagging":
        return f"{100 / labels:.1f}", f"a uniform guess over {labels} tags, token by token"
    return f"{100 / labels:.1f}", f"a uniform guess over {labels} labels"


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _test_sizes(selected: pd.DataFrame, task: str, columns: Sequence[str], unit: str) -> str:
    """The test set's size in every language of a task: one number if they agree."""
    sizes = selected[selected["task"] == task].groupby("language")["examples"].max()
    found = {language: int(sizes[language]) for language in columns if language in sizes}
    if len(set(found.values())) == 1:
        return f"{next(iter(found.values()))} test {unit} per language"
    return f"test {unit}: " + ", ".join(f"{language} {size}" for language, size in found.items())


def _runs_per_cell(seeds: Sequence[int], baselines: bool) -> str:
    """How many runs each model cell averages, as fine-tuning × pretraining seeds."""
    finetuning = {seed % RUN_STRIDE for seed in seeds}
    pretraining = {seed // RUN_STRIDE + 1 for seed in seeds}
    baseline = "; a baseline row: 1 run" if baselines else ""
    return (f"{_counted(len(seeds), 'run')} per cell ({_counted(len(finetuning), 'fine-tuning seed')} × "
            f"{_counted(len(pretraining), 'pretraining seed')}{baseline})")


def _task_captions(selected: pd.DataFrame, languages: dict[str, list[str]], task_metrics: dict[str, str],
                   definitions: Mapping[str, Mapping], seeds: Sequence[int],
                   baselines: bool) -> dict[str, str]:
    """Per task, what a reader needs beside its table: metric, direction, chance, test size, runs."""
    captions = {}
    for task, metric in task_metrics.items():
        level, meaning = chance_level(definitions[task])
        unit = "sentences" if definitions[task]["kind"] == "tagging" else "examples"
        captions[task] = (f"{task}: {METRIC_NAMES.get(metric, metric)} in %, higher is better; chance "
                          f"{level} ({meaning}); {_test_sizes(selected, task, languages[task], unit)}; "
                          f"{_runs_per_cell(seeds, baselines)}.")
    return captions


def _chance_line(definitions: Mapping[str, Mapping], tasks: Sequence[str]) -> str:
    levels = ", ".join(f"{task} {chance_level(definitions[task])[0]}" for task in tasks)
    return f"Higher is better in every column. Chance: {levels} (how, and test sizes: each task's table).\n"


def _listed(seeds: Sequence[int]) -> str:
    """The runs, and how to read their numbers when there are several pretraining seeds."""
    listed = ", ".join(map(str, seeds))
    if max(seeds) < RUN_STRIDE:
        return listed
    return f"{listed}: run = fine-tuning seed + {RUN_STRIDE} × (pretraining seed − 1)"


def _legend(
    task_metrics: dict[str, str],
    overall_tasks: dict[str, list[str]],
    *,
    train_language: str,
    seeds: Sequence[int],
    resamples: int,
    tests: pd.DataFrame,
    baselines: bool,
    missing: int,
    levels: Mapping[str, Sequence[str]] | None = None,
) -> str:
    by_metric: dict[str, list[str]] = {}
    for task, metric in task_metrics.items():
        by_metric.setdefault(METRIC_NAMES.get(metric, metric), []).append(task)
    metrics = "; ".join(f"{name}: {', '.join(tasks)}" for name, tasks in by_metric.items())
    listed = _listed(seeds)
    spread = (
        f"mean ± std over {len(seeds)} seeds ({listed})"
        if len(seeds) > 1
        else f"a single seed ({listed}), so no std"
    )
    mixed = len({task_metrics[task] for task in overall_tasks[OVERALL]}) > 1
    overall = [f"`{OVERALL}` = mean of the task {AVG}s of {', '.join(overall_tasks[OVERALL])}"
               + (" (different metrics, so only a rough index)" if mixed else "")]
    if OVERALL_CLASSIFICATION in overall_tasks:
        overall.append(f"`{OVERALL_CLASSIFICATION}` = of the classification tasks only "
                       f"({', '.join(overall_tasks[OVERALL_CLASSIFICATION])}, all accuracy)")
    tested = set(tests["reference"])
    marks = " and ".join(f"{REFERENCES[name]} vs `{name}`" for name in PAPER_REFERENCES)
    if ENCODER_CONTROL in tested:
        marks += f" (`{ENCODER_CONTROL}` for a masked-LM family)"
    if any(name not in REFERENCES for name in tested):
        marks += f"; {PARENT_MARK} a spectral swap vs its continued objective"
    lines = [
        f"Scores in % ({metrics}), fine-tuned on `{train_language}` and tested zero-shot; {spread}.",
        f"[low, high] (task tables; every cell in the CSV) = 95% bootstrap interval over test examples "
        f"and seeds (B = {resamples}).",
        f"`{AVG}` = mean over the languages other than `{train_language}`; " + "; ".join(overall)
        + "; all taken per seed (and per bootstrap replicate) first.",
    ]
    if levels and len(levels) > 1:
        grouped = "; ".join(f"`{level_column(level)}` over {', '.join(members)}"
                            for level, members in levels.items())
        lines.append(f"Languages by resource level (`world.languages.<code>.resource`): {grouped} (each "
                     f"without `{train_language}`), tested like `{AVG}`.")
    if not tests.empty:
        lines.append(f"Marks: significantly different (either direction) from the family's reference, "
                     f"{marks}: paired bootstrap, Holm-corrected over the table's {len(tests)} tests, "
                     f"p_holm < {ALPHA} (`transfer_tests.csv`, `findings.md`).")
    if baselines:
        lines.append(f"Rows `{BASELINE}`: surface baselines, one run each, interval over test examples "
                     f"only, not tested; {MISSING_CELL} where a baseline does not apply.")
    if missing:
        lines.append(f"Incomplete, {missing} of the runs missing: {MISSING_CELL} = no result, "
                     "(n=k) = only k seeds.")
    return "\n".join(f"- {line}" for line in lines)


def _json_stats(stats: pd.Series) -> dict:
    """Stats for JSON, NaN (no result, one seed's std, no interval) written as null."""
    values = {key: None if math.isnan(stats[key]) else float(stats[key])
              for key in ("mean", "std", "ci_low", "ci_high")}
    return values | {"n": int(stats["n"])}


def _summary(
    table: pd.DataFrame,
    overall: dict[str, pd.DataFrame],
    overall_tasks: dict[str, list[str]],
    *,
    task_metrics: dict[str, str],
    train_language: str,
    seeds: Sequence[int],
    resamples: int,
) -> dict:
    """The JSON summary: ``results`` by model/objective/task/column, each ``overall`` by row."""
    results: dict = {}
    for task, column in _cell_keys(table):
        for (model, objective), stats in _stats_at(table, task, column).iterrows():
            by_task = results.setdefault(model, {}).setdefault(objective, {})
            by_task.setdefault(task, {})[column] = _json_stats(stats)
    summary = {
        "tasks": task_metrics,
        "train_language": train_language,
        "seeds": list(seeds),
        "resamples": resamples,
        "results": results,
        "overall_tasks": overall_tasks,
    }
    for name, stats in overall.items():
        by_model: dict = {}
        for (model, objective), row in stats.iterrows():
            by_model.setdefault(model, {})[objective] = _json_stats(row)
        summary[name] = by_model
    return summary


def _study_metrics(
    metrics: pd.DataFrame,
    rows: pd.MultiIndex,
    languages: dict[str, list[str]],
    seeds: Sequence[int] | None,
    allow_missing: bool,
) -> tuple[pd.DataFrame, list[int], int]:
    """The runs of the configured seeds, those seeds, and how many runs are missing."""
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
    metric_paths: Iterable[PathLike],
    prediction_paths: Iterable[PathLike],
    *,
    csv_path: PathLike,
    markdown_path: PathLike,
    summary_path: PathLike,
    tests_path: PathLike,
    findings_path: PathLike,
    models: list[str],
    objectives: dict[str, list[str]],
    tasks: list[str],
    languages: list[str] | dict[str, list[str]],
    train_language: str,
    study: Mapping[str, str],
    task_definitions: Mapping[str, Mapping],
    seeds: Sequence[int] | None = None,
    pretraining_seeds: Sequence[int] = (1,),
    allow_missing: bool = False,
    query_paths: Iterable[PathLike] = (),
    baseline_metric_paths: Iterable[PathLike] = (),
    baseline_prediction_paths: Iterable[PathLike] = (),
    resamples: int = RESAMPLES,
    resource_levels: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Write the transfer CSV, Markdown, tests CSV, findings and JSON summary from per-run files.

    ``prediction_paths`` pair with ``metric_paths`` by position (likewise for the baselines);
    ``query_paths`` are the test splits of ranking tasks, whose ``text_a`` groups pages into the
    queries nDCG averages. Every configured (model, objective, task, language, seed) must have a
    result, since a partial mean looks just like a full one. ``allow_missing`` is for a preview
    while runs finish: gaps render as "–", cells short of seeds as "(n=k)", the legend says so, and
    such cells are not tested. ``seeds`` (fine-tuning seeds, under each of ``pretraining_seeds``)
    defaults to every run found for the configured rows; results outside the configured study are
    ignored. Baselines need not cover every task. ``study`` (name and config hash) heads every
    Markdown file; ``task_definitions`` (``mtbridge.config.task_definition`` per task) give each
    task's chance level. ``resource_levels`` (level -> languages, ``resources.by_level``) with more than
    one level adds each level's average (``avg <level>``) to every task, tested and stated like ``avg``.
    """
    if seeds is not None:
        seeds = [run_number(pretraining, seed) for pretraining in pretraining_seeds for seed in seeds]
    rows = _row_index(models, objectives)
    ordered = _languages(tasks, languages, train_language)
    runs, seeds, missing = _study_metrics(
        load_runs(metric_paths, prediction_paths), rows, ordered, seeds, allow_missing
    )
    baselines = load_runs(baseline_metric_paths, baseline_prediction_paths)
    all_rows = pd.MultiIndex.from_tuples([*_baseline_rows(baselines), *rows], names=ROW_KEYS)
    selected = _selected(pd.concat([frame for frame in (baselines, runs) if not frame.empty]),
                         all_rows, ordered)
    task_metrics = _task_metrics(selected, tasks)
    averages = _averages(ordered, resource_levels)
    scores = _seed_scores(selected, ordered, averages)
    replicated, classification = _bootstrap(selected, ordered, _queries(query_paths), resamples, averages)
    table = _table(scores, all_rows, ordered, _intervals(replicated), averages)
    overall_tasks = {OVERALL: list(tasks)}
    if classification and len(classification) < len(tasks):
        overall_tasks[OVERALL_CLASSIFICATION] = [task for task in tasks if task in classification]
    overall = {name: _overall(scores, all_rows, subset, replicated) for name, subset in overall_tasks.items()}
    tests = _tests(table, replicated, models, objectives, seeds)
    counts = table.xs("n", axis=1, level="stat").max(axis=1)  # a baseline row: its own runs
    row_seeds = counts.where(counts.index.get_level_values("model") == BASELINE, len(seeds)).astype(int)
    marks = _marks(tests)
    legend = _legend(task_metrics, overall_tasks, train_language=train_language, seeds=seeds,
                     resamples=resamples, tests=tests, baselines=not baselines.empty, missing=missing,
                     levels=resource_levels)
    captions = _task_captions(selected, ordered, task_metrics, task_definitions, seeds, not baselines.empty)
    sections = [
        titled("Zero-shot cross-lingual transfer", study),
        legend + "\n",
        _summary_section(table, overall, train_language, row_seeds, marks,
                         _chance_line(task_definitions, tasks)),
        *(_task_section(table, task, metric, row_seeds, marks, captions[task])
          for task, metric in task_metrics.items()),
    ]
    write_text(_csv(table), csv_path)
    write_text("\n".join(sections), markdown_path)
    write_text(_tests_csv(tests), tests_path)
    write_text(_findings(tests, train_language=train_language, seeds=seeds, resamples=resamples,
                         tests_name=Path(tests_path).name, study=study), findings_path)
    write_json(_summary(table, overall, overall_tasks, task_metrics=task_metrics,
                        train_language=train_language, seeds=seeds, resamples=resamples), summary_path)
