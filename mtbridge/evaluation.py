"""Task metrics and the per-run metrics file that the tables are built from.

Every scorer refuses empty or misaligned input: a silently truncated prediction file
would otherwise yield a plausible-looking score.
"""

from __future__ import annotations

from collections.abc import Sequence

from seqeval.metrics import f1_score
from sklearn.metrics import ndcg_score

from mtbridge.aliases import PathLike
from mtbridge.io import write_json, write_parquet
from mtbridge.tasks import TaskSpec, predictions_schema

METRICS = ("accuracy", "entity_f1")
METRIC_FIELDS = ("model", "objective", "task", "language", "pretraining_seed", "seed", "metric", "score",
                 "examples")


def _check_aligned(gold: Sequence, predicted: Sequence, what: str) -> None:
    if len(gold) != len(predicted):
        raise ValueError(f"{what}: {len(gold)} gold vs {len(predicted)} predicted")
    if not gold:
        raise ValueError(f"{what}: empty input, nothing to score")


def _check_sequences(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> None:
    _check_aligned(gold, predicted, "sentence count mismatch")
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted, strict=True)):
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(
                f"sentence {index}: {len(gold_tags)} gold vs {len(predicted_tags)} predicted tags"
            )


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of examples whose predicted label equals the gold label (NLI, paraphrase, topic)."""
    _check_aligned(gold, predicted, "label count mismatch")
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """Share of all tokens tagged correctly (POS), so long sentences weigh more than short ones."""
    _check_sequences(gold, predicted)
    total = sum(len(tags) for tags in gold)
    if total == 0:
        raise ValueError("empty input: the sentences hold no tokens")
    correct = sum(
        g == p
        for gold_tags, predicted_tags in zip(gold, predicted, strict=True)
        for g, p in zip(gold_tags, predicted_tags, strict=True)
    )
    return correct / total


def entity_f1(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """Micro entity-level F1 as conlleval computes it (seqeval's default mode).

    An entity counts only with the exact span and type, so a boundary error is both a
    false positive and a false negative. With no gold and no predicted entity the score is 0.
    """
    _check_sequences(gold, predicted)
    return float(
        f1_score([list(tags) for tags in gold], [list(tags) for tags in predicted], zero_division=0)
    )


def ndcg(groups: Sequence[str], gold: Sequence[float], scores: Sequence[float],
         k: int | None = None) -> float:
    """Mean nDCG@k over queries (WPR), as XGLUE's official evaluation computes it.

    Rows with equal ``groups`` values are one query's documents; ``gold`` holds their relevance
    grades and ``scores`` the model's. Each query is scored by ``sklearn.metrics.ndcg_score``, the
    function microsoft/XGLUE ``xglue_evaluate.py`` calls: linear gains, tied scores sharing the
    average discount of their positions, and k=None (the whole list) there. A query with one
    document is left out, as XGLUE leaves it out (its nDCG is trivially 1; sklearn refuses it); a
    query whose grades are all 0 scores 0, sklearn's convention that XGLUE inherits, so it counts
    against the mean. XGLUE starts a query where the query text changes from the line before;
    grouping equal texts gives the same queries on the release, whose pages come query by query.
    """
    _check_aligned(gold, scores, "score count mismatch")
    if len(groups) != len(gold):
        raise ValueError(f"group count mismatch: {len(groups)} groups vs {len(gold)} gold")
    if k is not None and k < 1:
        raise ValueError(f"k must be a positive cutoff or None, not {k}")
    queries: dict[str, tuple[list[float], list[float]]] = {}
    for group, grade, value in zip(groups, gold, scores, strict=True):
        query_gold, query_scores = queries.setdefault(group, ([], []))
        query_gold.append(float(grade))
        query_scores.append(float(value))
    per_query = [ndcg_score([query_gold], [query_scores], k=k)
                 for query_gold, query_scores in queries.values() if len(query_gold) > 1]
    if not per_query:
        raise ValueError("no query has two or more documents, so nDCG is undefined")
    return float(sum(per_query) / len(per_query))


def score(metric: str, gold: Sequence, predicted: Sequence) -> float:
    """Score with the task's metric; ``accuracy`` over tag sequences means token accuracy."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {list(METRICS)}")
    if metric == "entity_f1":
        return entity_f1(gold, predicted)
    _check_aligned(gold, predicted, "label count mismatch")
    if isinstance(gold[0], str) or not isinstance(gold[0], Sequence):
        return accuracy(gold, predicted)
    return token_accuracy(gold, predicted)


def split_score(metric: str, rows: Sequence[dict], gold: Sequence, predicted: Sequence,
                relevance: Sequence[float] | None = None) -> float:
    """A split's score: nDCG of each query's (``text_a``'s) pages ranked by ``relevance`` for a ranking
    task (the gold labels are grades), else ``score`` with the task's metric."""
    if metric == "ndcg":
        return ndcg([row["text_a"] for row in rows], [float(label) for label in gold], relevance)
    return score(metric, gold, predicted)


def write_predictions(path: PathLike, spec: TaskSpec, rows: Sequence[dict], gold: Sequence,
                      predicted: Sequence, relevance: Sequence[float] | None = None) -> None:
    """Write a split's (id, gold, predicted[, relevance]) rows, the schema every predictor shares."""
    records = [{"id": row["id"], "gold": g, "predicted": p}
               for row, g, p in zip(rows, gold, predicted, strict=True)]
    if relevance is not None:
        for record, value in zip(records, relevance, strict=True):
            record["relevance"] = float(value)
    write_parquet(records, path, predictions_schema(spec))


def write_metrics(
    path: PathLike,
    *,
    model: str,
    objective: str,
    task: str,
    language: str,
    pretraining_seed: int,
    seed: int,
    metric: str,
    score: float,
    examples: int,
) -> None:
    """Write one run's score as JSON, the unit that ``mtbridge.tables`` aggregates; a run is a
    pretraining seed (0 where nothing was pretrained, as for a baseline) and a fine-tuning seed."""
    record = {
        "model": model,
        "objective": objective,
        "task": task,
        "language": language,
        "pretraining_seed": int(pretraining_seed),
        "seed": int(seed),
        "metric": metric,
        "score": float(score),
        "examples": int(examples),
    }
    write_json(record, path)
