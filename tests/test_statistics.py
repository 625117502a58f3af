"""Sufficient statistics, the two-level bootstrap, paired tests and Holm, against known answers."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from mtbridge import evaluation
from mtbridge.statistics import (
    RESAMPLES,
    bootstrap,
    compare,
    estimate,
    example_counts,
    example_statistics,
    holm,
    interval,
    replicates,
    score_from_sums,
    seed_draws,
)

TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "I-PER", "E-LOC"]


def full_score(metric: str, stats: np.ndarray) -> float:
    return float(score_from_sums(metric, stats.sum(axis=0)))


def noisy_tags(rng: random.Random, sentences: int) -> tuple[list[list[str]], list[list[str]]]:
    """Random NER sentences (some empty, some with ill-formed I- starts) and a 70%-right tagging."""
    gold = [[rng.choice(TAGS) for _ in range(rng.randint(0, 12))] for _ in range(sentences)]
    return gold, [[tag if rng.random() < 0.7 else rng.choice(TAGS) for tag in tags] for tags in gold]


def correct(seeds: int, examples: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """Accuracy statistics (seeds, examples, 2), each example right with probability ``share``."""
    hits = (rng.random((seeds, examples)) < share).astype(float)
    return np.stack([hits, np.ones_like(hits)], axis=-1)


@pytest.mark.parametrize("trial", range(20))
def test_statistics_reproduce_each_metric_exactly(trial: int) -> None:
    rng = random.Random(trial)
    gold, predicted = noisy_tags(rng, rng.randint(1, 30))
    assert full_score("entity_f1", example_statistics("entity_f1", gold, predicted)) == \
        evaluation.entity_f1(gold, predicted)
    if sum(map(len, gold)):
        assert full_score("accuracy", example_statistics("accuracy", gold, predicted)) == \
            evaluation.token_accuracy(gold, predicted)
    labels = [rng.choice("abc") for _ in range(rng.randint(1, 50))]
    guesses = [label if rng.random() < 0.6 else rng.choice("abc") for label in labels]
    assert full_score("accuracy", example_statistics("accuracy", labels, guesses)) == \
        evaluation.accuracy(labels, guesses)


def test_entity_counts_per_sentence() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O"], ["B-ORG"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-LOC"], ["B-ORG"]]
    assert example_statistics("entity_f1", gold, predicted).tolist() == [[1, 2, 2], [0, 1, 0], [1, 1, 1]]
    nothing = [["O", "O"]]
    assert full_score("entity_f1", example_statistics("entity_f1", nothing, nothing)) == 0.0
    assert evaluation.entity_f1(nothing, nothing) == 0.0


def test_ndcg_statistics_are_per_query() -> None:
    rng = random.Random(3)
    groups = [f"q{index // 5}" for index in range(60)] + ["alone"]  # a one-page query is left out
    gold = [float(rng.randint(0, 4)) for _ in groups]
    scores = [rng.random() for _ in groups]
    stats = example_statistics("ndcg", gold, scores, groups)
    assert stats.shape == (12, 2)
    assert full_score("ndcg", stats) == pytest.approx(evaluation.ndcg(groups, gold, scores), abs=1e-15)
    with pytest.raises(ValueError, match="each page's query"):
        example_statistics("ndcg", gold, scores)


def test_misaligned_input_is_refused() -> None:
    with pytest.raises(ValueError, match="2 gold vs 1 predicted"):
        example_statistics("accuracy", ["a", "b"], ["a"])
    with pytest.raises(ValueError, match="unknown metric"):
        example_statistics("bleu", ["a"], ["a"])


def test_interval_of_a_constant_is_a_point() -> None:
    always = correct(3, 200, 1.1, np.random.default_rng(0))
    values = replicates("accuracy", always, "constant")
    assert values.shape == (RESAMPLES,)
    assert interval(values) == (1.0, 1.0)
    assert interval(bootstrap("accuracy", {"a": always, "b": always[:, :50]})) == (1.0, 1.0)


def test_seeds_are_resampled_too() -> None:
    """One seed always right, one always wrong: examples add no spread, the seeds all of it."""
    split = np.stack([correct(1, 100, 1.1, np.random.default_rng(0))[0],
                      correct(1, 100, -1, np.random.default_rng(0))[0]])
    values = replicates("accuracy", split, "split")
    assert set(np.unique(values)) == {0.0, 0.5, 1.0}
    assert np.mean(values == 0.5) == pytest.approx(0.5, abs=0.05)  # two seeds drawn: P(one of each) = 1/2
    assert estimate("accuracy", split) == 0.5


def test_interval_width_matches_the_binomial() -> None:
    stats = correct(1, 400, 0.5, np.random.default_rng(1))
    low, high = interval(replicates("accuracy", stats, "binomial"))
    share = estimate("accuracy", stats)
    assert low < share < high
    assert high - low == pytest.approx(2 * 1.96 * np.sqrt(share * (1 - share) / 400), rel=0.15)


def test_languages_of_an_average_are_drawn_independently() -> None:
    assert not np.array_equal(example_counts(50, "topic/de"), example_counts(50, "topic/sw"))
    assert example_counts(50, "topic/de").sum(axis=1).tolist() == [50] * RESAMPLES
    stats = correct(2, 50, 0.5, np.random.default_rng(2))
    average = bootstrap("accuracy", {"topic/de": stats, "topic/sw": stats})
    single = replicates("accuracy", stats, "topic/de")
    assert np.std(average) < np.std(single)  # two independent draws of the same set: less spread
    np.testing.assert_allclose(average, (single + replicates("accuracy", stats, "topic/sw")) / 2)


def test_identical_systems_do_not_differ() -> None:
    stats = correct(3, 300, 0.6, np.random.default_rng(4))
    values = replicates("accuracy", stats, "same")
    result = compare(estimate("accuracy", stats), estimate("accuracy", stats), values, values)
    assert (result.effect, result.ci_low, result.ci_high, result.p, result.p_bootstrap) == (0, 0, 0, 1, 1)


def test_a_clearly_better_system_differs() -> None:
    rng = np.random.default_rng(5)
    worse = correct(3, 400, 0.5, rng)
    better = worse.copy()
    better[:, :60, 0] = 1.0  # 60 more examples right, on every seed
    a, b = (replicates("accuracy", stats, "paired") for stats in (better, worse))
    result = compare(100 * estimate("accuracy", better), 100 * estimate("accuracy", worse), 100 * a, 100 * b)
    assert result.effect > 5 and result.ci_low > 0
    assert result.p < 0.01 and result.p_bootstrap < 0.01
    assert result.p_bootstrap == pytest.approx(1 / (RESAMPLES + 1))


def test_a_noise_difference_is_not_significant() -> None:
    rng = np.random.default_rng(6)
    a, b = correct(3, 400, 0.7, rng), correct(3, 400, 0.7, rng)
    result = compare(estimate("accuracy", a), estimate("accuracy", b),
                     replicates("accuracy", a, "noise"), replicates("accuracy", b, "noise"))
    assert result.ci_low < 0 < result.ci_high
    assert result.p_bootstrap > 0.05
    se = np.std(replicates("accuracy", a, "noise") - replicates("accuracy", b, "noise"), ddof=1)
    normal = math.erfc(abs(result.effect) / se / math.sqrt(2))
    assert normal == pytest.approx(result.p_bootstrap, abs=0.05)  # the normal tail fits here
    assert result.p == max(normal, result.p_bootstrap)


def test_a_skewed_difference_keeps_its_own_tail() -> None:
    """Two discordant examples of 32: the normal tail would understate p; the replicates' is kept."""
    worse = correct(1, 32, -1, np.random.default_rng(0))
    better = worse.copy()
    better[0, :2, 0] = 1.0
    a, b = (replicates("accuracy", stats, "skewed") for stats in (better, worse))
    result = compare(estimate("accuracy", better), estimate("accuracy", worse), a, b)
    assert result.p == result.p_bootstrap > 0.1


def test_holm_textbook_example() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone: 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])  # 0.9 x 1 < 0.5 x 2: monotone, capped
    assert holm([]).size == 0


def test_draws_are_deterministic() -> None:
    stats = correct(3, 120, 0.4, np.random.default_rng(7))
    first = replicates("entity_f1", np.concatenate([stats, stats[..., 1:]], axis=-1), "again")
    example_counts.cache_clear()
    second = replicates("entity_f1", np.concatenate([stats, stats[..., 1:]], axis=-1), "again")
    assert first.tobytes() == second.tobytes()
    assert seed_draws(3).tobytes() == seed_draws(3).tobytes()
