"""Metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from mtbridge.evaluation import accuracy, entity_f1, ndcg, score, token_accuracy, write_metrics
from mtbridge.io import read_json

TAGS_GOLD = [["DET", "NOUN", "VERB"], ["PRON", "VERB"]]
TAGS_PREDICTED = [["DET", "VERB", "VERB"], ["PRON", "VERB"]]

# 3 gold entities (PER, LOC, ORG); predicted PER and ORG correctly, LOC missed, MISC spurious.
NER_GOLD = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "O", "O"]]
NER_PREDICTED = [["B-PER", "I-PER", "O", "O"], ["O", "B-ORG", "O", "B-MISC"]]


def test_accuracy() -> None:
    assert accuracy(["a", "b", "c", "a"], ["a", "c", "c", "b"]) == 0.5


def test_token_accuracy_counts_tokens_not_sentences() -> None:
    # 4 of 5 tokens; a per-sentence average would give (2/3 + 1) / 2.
    assert token_accuracy(TAGS_GOLD, TAGS_PREDICTED) == pytest.approx(0.8)


def test_entity_f1_hand_computed() -> None:
    # P = 2/3, R = 2/3, so F1 = 2/3.
    assert entity_f1(NER_GOLD, NER_PREDICTED) == pytest.approx(2 / 3)


def test_entity_f1_boundary_and_type_errors_count_as_wrong() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O"]]
    predicted = [["B-PER", "O", "O", "B-LOC", "B-ORG"]]
    # Gold PER[0:2], LOC; predicted PER[0:1] (boundary error), LOC, ORG: P = 1/3, R = 1/2.
    assert entity_f1(gold, predicted) == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))


def test_entity_f1_is_conlleval_style() -> None:
    # conlleval (seqeval's default mode) reads an I- tag after O as the start of an entity.
    assert entity_f1([["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]]) == 1.0


def test_score_dispatches_on_metric_and_label_shape() -> None:
    assert score("accuracy", ["a", "b"], ["a", "a"]) == 0.5
    assert score("accuracy", TAGS_GOLD, TAGS_PREDICTED) == pytest.approx(0.8)
    assert score("entity_f1", NER_GOLD, NER_PREDICTED) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="unknown metric 'bleu'"):
        score("bleu", ["a"], ["a"])


@pytest.mark.parametrize(
    ("scorer", "gold", "predicted", "message"),
    [
        (accuracy, ["a", "b"], ["a"], "2 gold vs 1 predicted"),
        (accuracy, [], [], "empty input"),
        (token_accuracy, TAGS_GOLD, [["DET", "VERB", "VERB"], ["PRON"]], "sentence 1: 2 gold"),
        (token_accuracy, [[]], [[]], "no tokens"),
        (entity_f1, NER_GOLD, NER_PREDICTED[:1], "2 gold vs 1 predicted"),
        (entity_f1, [], [], "empty input"),
    ],
)
def test_misaligned_or_empty_input_is_rejected(scorer, gold, predicted, message) -> None:
    with pytest.raises(ValueError, match=message):
        scorer(gold, predicted)


def test_write_metrics_round_trips(tmp_path) -> None:
    path = tmp_path / "deep" / "metrics.json"
    record = {
        "model": "mbart",
        "objective": "mt-m2m",
        "task": "ner",
        "language": "de",
        "pretraining_seed": 1,
        "seed": 2,
        "metric": "entity_f1",
        "score": 0.5,
        "examples": 400,
    }
    write_metrics(path, **record)
    assert read_json(path) == record


# nDCG with sklearn's linear gains: DCG = sum over ranks r (from 1) of grade / log2(r + 1).
LOG2_3 = math.log2(3)
# q1: grades 3, 2, 0 scored 0.1, 0.9, 0.5 rank as grades 2, 0, 3:
#   DCG = 2/log2(2) + 0/log2(3) + 3/log2(4) = 2 + 0 + 1.5 = 3.5; ideal 3/1 + 2/log2(3) + 0.
Q1 = 3.5 / (3 + 2 / LOG2_3)
# q2: grades 1, 0 with tied scores share both positions: each gains (1 + 0) / 2,
#   DCG = 0.5/1 + 0.5/log2(3); ideal 1/1 = 1.
Q2 = 0.5 + 0.5 / LOG2_3
NDCG_GROUPS = ["q1", "q2", "q1", "q3", "q2", "q1", "q4", "q4"]
NDCG_GOLD = [3, 1, 2, 4, 0, 0, 0, 0]
NDCG_SCORES = [0.1, 0.5, 0.9, 0.7, 0.5, 0.5, 1.0, 2.0]


def test_ndcg_hand_computed_with_ties_single_and_irrelevant_queries() -> None:
    # q3 has one document and is left out; q4's grades are all 0, so it scores 0.
    assert ndcg(NDCG_GROUPS, NDCG_GOLD, NDCG_SCORES) == pytest.approx((Q1 + Q2 + 0) / 3)


def test_ndcg_perfect_ranking_is_one_and_groups_need_not_be_contiguous() -> None:
    assert ndcg(["a", "b", "a", "b"], [2, 0, 1, 1], [9, 1, 3, 2]) == pytest.approx(1.0)


def test_ndcg_at_k_cuts_both_lists() -> None:
    # q1@1: the top-scored page has grade 2, the ideal top grade is 3; q2@1: the tie gives 0.5 of 1.
    assert ndcg(NDCG_GROUPS[:6], NDCG_GOLD[:6], NDCG_SCORES[:6], k=1) == pytest.approx((2 / 3 + 0.5) / 2)


@pytest.mark.parametrize(
    ("groups", "gold", "scores", "k", "message"),
    [
        (["a", "a"], [1, 0], [0.5], None, "2 gold vs 1 predicted"),
        (["a"], [1, 0], [0.5, 0.2], None, "1 groups vs 2 gold"),
        ([], [], [], None, "empty input"),
        (["a", "b"], [1, 0], [0.5, 0.2], None, "no query has two or more documents"),
        (["a", "a"], [1, 0], [0.5, 0.2], 0, "positive cutoff"),
    ],
)
def test_ndcg_rejects_misaligned_empty_or_unscorable_input(groups, gold, scores, k, message) -> None:
    with pytest.raises(ValueError, match=message):
        ndcg(groups, gold, scores, k=k)
