"""benchmarks/learnability.py's paraphrase probes are what its docstring says: pairs with the same words
on both sides, half of them paraphrases, that differ only in word order (and, for `fronting`, where the
location phrase stands), so a score on them reads as learning word order and nothing else."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import MICRO, benchmark_module

from mtbridge.config import load_config


def probe(kind: str) -> list[dict]:
    rows = benchmark_module("learnability").probe_rows(load_config(MICRO)["world"], 7, "train", 60, kind)
    assert Counter(row["label"] for row in rows) == {"paraphrase": 30, "different": 30}
    return rows


@pytest.mark.parametrize("kind", ["fronting", "identical"])
def test_probe_pairs_differ_only_in_word_order(kind: str) -> None:
    rows = probe(kind)
    for row in rows:
        assert Counter(row["text_a"].split()) == Counter(row["text_b"].split()), row
        identical = row["text_a"] == row["text_b"]
        assert identical == (kind == "identical" and row["label"] == "paraphrase"), row
    fronted = sum(row["text_a"].split()[0] != row["text_b"].split()[0] for row in rows[::2])
    assert (fronted == 30) == (kind == "fronting")


def test_unrelated_probe_pairs_a_sentence_with_itself_or_another() -> None:
    for row in probe("unrelated"):
        same_words = Counter(row["text_a"].split()) == Counter(row["text_b"].split())
        assert same_words == (row["label"] == "paraphrase"), row
        assert (row["text_a"] == row["text_b"]) == (row["label"] == "paraphrase"), row
