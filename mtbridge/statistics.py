"""Bootstrap confidence intervals and paired tests for the transfer table, from per-example predictions.

Every metric here is a function of sums of per-example statistics (``example_statistics``), so a
resample is scored by summing the statistics it draws (``score_from_sums``) instead of re-running the
scorer: a thousand resamples of a whole study take seconds. The bootstrap has two levels, as the
table's numbers do: fine-tuning seeds are resampled with replacement, and so are test examples (the
same example draws for every seed, and for every system tested on that set, so comparisons are
paired). A replicate's score is the mean over its drawn seeds of each seed's score on the drawn
examples, as a table cell is the mean over seeds. Seed draws depend only on the number of seeds and
resamples, so one replicate draws the same seeds for every test set; example draws depend on the test
set's name, so the languages of a task average are resampled independently. Everything is seeded with
fixed numbers: the same inputs give the same bytes.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from seqeval.metrics.sequence_labeling import get_entities
from statsmodels.stats.multitest import multipletests

from mtbridge.evaluation import ndcg

RESAMPLES = 1000
LEVEL = 0.95
ALPHA = 0.05
RNG_SEED = 20240520
WIDTH = {"accuracy": 2, "entity_f1": 3, "ndcg": 2}  # statistics per example, see example_statistics


# --- sufficient statistics -------------------------------------------------------------------


def example_statistics(metric: str, gold: Sequence, predicted: Sequence,
                       groups: Sequence[str] | None = None) -> np.ndarray:
    """One row of sums per resampling unit, the columns ``score_from_sums`` turns into the metric.

    accuracy: (correct, 1) per example, or (correct tokens, tokens) per sentence for tag sequences
    (POS token accuracy); entity_f1: (true positive, predicted, gold entities) per sentence, entities
    as seqeval extracts them; ndcg: (nDCG, 1) per query, where ``predicted`` holds the ranking scores,
    ``groups`` each page's query and the unit is the query (as ``evaluation.ndcg`` averages queries).
    """
    if metric not in WIDTH:
        raise ValueError(f"unknown metric {metric!r}; expected one of {list(WIDTH)}")
    if len(gold) != len(predicted) or len(gold) == 0:
        raise ValueError(f"{len(gold)} gold vs {len(predicted)} predicted: nothing to pair")
    if metric == "ndcg":
        return _query_statistics(gold, predicted, groups)
    pairs = zip(gold, predicted, strict=True)
    if metric == "entity_f1":
        rows = [_entity_counts(list(g), list(p)) for g, p in pairs]
    elif isinstance(gold[0], str) or not isinstance(gold[0], Sequence):
        rows = [(g == p, 1) for g, p in pairs]
    else:
        rows = [(sum(a == b for a, b in zip(g, p, strict=True)), len(g)) for g, p in pairs]
    return np.asarray(rows, dtype=float).reshape(len(gold), WIDTH[metric])


def _entity_counts(gold: list[str], predicted: list[str]) -> tuple[int, int, int]:
    """seqeval's micro counts for one sentence; they add up over sentences because seqeval
    separates the sentences of a corpus by an ``O``, so no entity spans two of them."""
    gold_entities, predicted_entities = set(get_entities(gold)), set(get_entities(predicted))
    return len(gold_entities & predicted_entities), len(predicted_entities), len(gold_entities)


def _query_statistics(gold: Sequence[float], scores: Sequence[float],
                      groups: Sequence[str] | None) -> np.ndarray:
    if groups is None or len(groups) != len(gold):
        raise ValueError("nDCG needs each page's query (groups), one per page")
    queries: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        queries.setdefault(group, []).append(index)
    values = [ndcg([group] * len(rows), [gold[i] for i in rows], [scores[i] for i in rows])
              for group, rows in queries.items() if len(rows) > 1]
    if not values:
        raise ValueError("no query has two or more documents, so nDCG is undefined")
    return np.column_stack([values, np.ones(len(values))])


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where the denominator is 0 (seqeval's zero_division=0)."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)


def score_from_sums(metric: str, sums: np.ndarray) -> np.ndarray:
    """The metric from statistics summed over units (last axis); F1 in seqeval's operation order,
    so the full set's sums give ``evaluation.entity_f1``'s float exactly."""
    sums = np.asarray(sums, dtype=float)
    if metric != "entity_f1":
        return _ratio(sums[..., 0], sums[..., 1])
    precision = _ratio(sums[..., 0], sums[..., 1])
    recall = _ratio(sums[..., 0], sums[..., 2])
    return _ratio(2 * precision * recall, precision + recall)


def estimate(metric: str, stats: np.ndarray) -> float:
    """The point estimate of ``stats`` (seeds, units, width): the mean over seeds of each seed's score."""
    return float(score_from_sums(metric, np.asarray(stats).sum(axis=1)).mean())


# --- the bootstrap ---------------------------------------------------------------------------


def seed_draws(seeds: int, resamples: int = RESAMPLES) -> np.ndarray:
    """(resamples, seeds) seed positions; the same for every test set, so a replicate of a task
    average (or of ``overall``) draws one set of fine-tuned models for all its languages."""
    return np.random.default_rng([RNG_SEED, 0]).integers(0, seeds, size=(resamples, seeds))


@lru_cache(maxsize=4)
def example_counts(examples: int, key: str, resamples: int = RESAMPLES) -> np.ndarray:
    """(resamples, examples): how often each example is drawn; a test set's ``key`` seeds its draws,
    so every system on that set gets the same ones and different sets get independent ones."""
    rng = np.random.default_rng([RNG_SEED, 1 + zlib.crc32(key.encode())])
    draws = rng.integers(0, examples, size=(resamples, examples))
    flat = (draws + examples * np.arange(resamples)[:, None]).ravel()
    counts = np.bincount(flat, minlength=resamples * examples).reshape(resamples, examples).astype(float)
    counts.flags.writeable = False  # shared through the cache
    return counts


def replicates(metric: str, stats: np.ndarray, key: str, resamples: int = RESAMPLES) -> np.ndarray:
    """Bootstrap replicates (resamples,) of one system's score on test set ``key``.

    ``stats`` is (seeds, units, width), seeds in a fixed order shared by the systems compared.
    """
    seeds, units, width = stats.shape
    counts = example_counts(units, key, resamples)
    per_seed = (counts @ stats.transpose(1, 0, 2).reshape(units, seeds * width)).reshape(-1, seeds, width)
    drawn = np.take_along_axis(per_seed, seed_draws(seeds, resamples)[:, :, None], axis=1)
    return score_from_sums(metric, drawn).mean(axis=1)


def bootstrap(metric: str, sets: Mapping[str, np.ndarray], resamples: int = RESAMPLES) -> np.ndarray:
    """Replicates of the mean score over test sets (a task average over its languages): each set's
    examples resampled independently, the seeds jointly, the mean taken per replicate."""
    return np.mean([replicates(metric, stats, key, resamples) for key, stats in sets.items()], axis=0)


def interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of bootstrap replicates."""
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


# --- paired tests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """System A minus system B: effect, its percentile interval, and two-sided p-values."""

    effect: float
    ci_low: float
    ci_high: float
    p: float            # the one to correct: see compare
    p_bootstrap: float  # the replicates' own tail share, +1-corrected; at least 1 / (resamples + 1)


def compare(estimate_a: float, estimate_b: float, replicates_a: np.ndarray, replicates_b: np.ndarray,
            level: float = LEVEL) -> Comparison:
    """A paired bootstrap test of A against B on the same test examples and seeds.

    The replicates must come from the same draws (``replicates`` or ``bootstrap`` on the same keys,
    seed order and ``resamples``), so their difference is the bootstrap distribution of the effect.
    A paired bootstrap rather than a permutation test (scipy.stats.permutation_test): one resampling
    scheme covers seeds, task averages over independently drawn languages and the effect's interval.

    ``p_bootstrap`` is the share of centred replicates at least as far from 0 as the effect, +1
    corrected, so it cannot go below 1 / (B + 1); Holm multiplies the smallest p by the number of
    tests, so with B = 1000 and a table's hundreds of tests nothing could ever be significant. ``p``
    therefore extrapolates past that resolution with the normal tail 2·Φ(−|effect| / se), se the
    replicates' standard deviation, where no replicate is that extreme; elsewhere it is the larger
    of the two (the maximum of two valid p-values is valid), so the normal tail never makes a small,
    skewed test set look better than its own replicates. Identical systems give p = 1.
    """
    differences = np.asarray(replicates_a) - np.asarray(replicates_b)
    effect = estimate_a - estimate_b
    se = float(differences.std(ddof=1))
    normal = math.erfc(abs(effect) / se / math.sqrt(2)) if se > 0 else float(effect == 0)
    extreme = int(np.count_nonzero(np.abs(differences - effect) >= abs(effect)))
    tail = (1 + extreme) / (len(differences) + 1)
    p = max(normal, tail) if extreme else normal
    return Comparison(effect, *interval(differences, level), p, tail)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (family-wise error), in the order given."""
    if len(p_values) == 0:
        return np.zeros(0)
    return multipletests(np.asarray(p_values, dtype=float), method="holm")[1]
