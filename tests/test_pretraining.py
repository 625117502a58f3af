"""Pretraining objectives: BART noise, MT directions, batch framing, and a few real training steps."""

from __future__ import annotations

import itertools
import random
import statistics
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from conftest import LANGUAGES, PARALLEL, SEED, SmallWorld

from mtbridge.io import read_json
from mtbridge.models import WEIGHTS_FILE, load_pretrained
from mtbridge.pretraining import (
    MASK_RATIO,
    continue_pretraining,
    denoising_batches,
    infill_spans,
    permute_sentences,
    poisson,
    pretrain_source,
    read_documents,
    read_pairs,
    translation_batches,
)
from mtbridge.tokenizer import encode_texts, framing

MASK = 0
TOKENS = list(range(1, 101))  # distinct, never the mask id


def noise(seed: int, ids: list[int] = TOKENS) -> list[int]:
    return infill_spans(ids, random.Random(seed), MASK)


def test_infill_is_deterministic_for_a_seeded_rng() -> None:
    assert noise(3) == noise(3)
    assert len({tuple(noise(seed)) for seed in range(5)}) == 5


def test_infill_masks_about_35_percent() -> None:
    dropped = [1 - sum(piece != MASK for piece in noise(seed)) / len(TOKENS) for seed in range(400)]
    assert statistics.mean(dropped) == pytest.approx(MASK_RATIO, abs=0.015)
    assert max(dropped) <= MASK_RATIO  # spans stop at the budget


@pytest.mark.parametrize("length", [2, 3, 5, 8, 13, 40, 100])
def test_infill_structure(length: int) -> None:
    ids = TOKENS[:length]
    for seed in range(60):
        noised = noise(seed, ids)
        kept = [piece for piece in noised if piece != MASK]
        assert kept == sorted(kept) and set(kept) <= set(ids)  # the input's order, a subsequence
        assert MASK in noised
        assert not any(a == b == MASK for a, b in itertools.pairwise(noised)), noised


def test_infill_of_nothing() -> None:
    assert noise(0, []) == []


def test_poisson_mean_and_variance() -> None:
    rng = random.Random(0)
    draws = [poisson(rng, 3.5) for _ in range(20000)]
    assert statistics.mean(draws) == pytest.approx(3.5, abs=0.06)
    assert statistics.variance(draws) == pytest.approx(3.5, abs=0.2)
    assert min(draws) == 0


def test_permute_sentences_is_a_permutation() -> None:
    sentences = [[1, 2, 3], [4], [5, 6], [7, 8, 9, 10]]
    orders = set()
    for seed in range(20):
        permuted = permute_sentences(sentences, random.Random(seed))
        order = next(order for order in itertools.permutations(range(4))
                     if permuted == [piece for index in order for piece in sentences[index]])
        orders.add(order)
    assert len(orders) > 5


def parallel_rows(small_world: SmallWorld, source: str, target: str) -> list[dict]:
    return pq.read_table(small_world.parallel(source, target)).to_pylist()


@pytest.mark.parametrize(("objective", "directions"), [
    ("mt-o2m", {("en", "close"), ("en", "isolate")}),
    ("mt-m2o", {("close", "en"), ("isolate", "en")}),
    ("mt-m2m", {(a, b) for pair in PARALLEL for a, b in (pair, pair[::-1])}),
], ids=["mt-o2m", "mt-m2o", "mt-m2m"])
def test_read_pairs_directions(small_world: SmallWorld, tokenizer, objective: str,
                               directions: set) -> None:
    paths = [small_world.parallel(*pair) for pair in PARALLEL]
    pairs = read_pairs(paths, tokenizer, objective, "en")
    found = [(pair.source_language, pair.target_language) for pair in pairs]
    assert set(found) == directions
    rows = {pair: parallel_rows(small_world, *pair) for pair in PARALLEL}
    assert len(pairs) == len(directions) * len(rows[PARALLEL[0]])
    texts = {(row["source_language"], row["target_language"], row["source"], row["target"])
             for pair_rows in rows.values() for row in pair_rows}
    texts |= {(b, a, y, x) for a, b, x, y in texts}
    decoded = {(p.source_language, p.target_language, tokenizer.decode(p.source),
                tokenizer.decode(p.target)) for p in pairs}
    assert decoded <= texts


def test_read_pairs_without_a_matching_direction(small_world: SmallWorld, tokenizer) -> None:
    with pytest.raises(ValueError, match="objective mt-o2m: no parallel pairs"):
        read_pairs([small_world.parallel("close", "isolate")], tokenizer, "mt-o2m", "en")


def unpadded(row: torch.Tensor, value: int) -> list[int]:
    """A right-padded row without its padding, checking that nothing follows the padding."""
    values = row.tolist()
    end = values.index(value) if value in values else len(values)
    assert all(item == value for item in values[end:])
    return values[:end]


def test_translation_batches(small_world: SmallWorld, tokenizer) -> None:
    frame = framing(tokenizer, "mbart", LANGUAGES)
    pairs = read_pairs([small_world.parallel(*pair) for pair in PARALLEL], tokenizer, "mt-m2m", "en")
    framed = {(tuple(frame.frame(p.source[:30], p.source_language)[0]),
               tuple(frame.frame(p.target[:30], p.target_language)[0])) for p in pairs}
    tags = {tag: language for language, tag in frame.language_ids.items()}
    batch = translation_batches(pairs, frame, 6, 32, random.Random(0))()
    assert batch["input_ids"].shape[0] == batch["labels"].shape[0] == 6
    assert batch["input_ids"].shape[1] <= 32 and batch["labels"].shape[1] <= 32
    assert torch.equal(batch["attention_mask"], (batch["input_ids"] != frame.pad).long())
    assert (batch["labels"] == -100).any() and not (batch["labels"] == frame.pad).any()
    for source, labels in zip(batch["input_ids"], batch["labels"], strict=True):
        source, target = unpadded(source, frame.pad), unpadded(labels, -100)
        assert (tuple(source), tuple(target)) in framed
        assert source[0] in tags and target[0] in tags and tags[source[0]] != tags[target[0]]
        assert source[-1] == target[-1] == frame.eos


def test_denoising_batches(small_world: SmallWorld, tokenizer) -> None:
    frame = framing(tokenizer, "mbart", LANGUAGES)
    documents = read_documents([small_world.monolingual(code) for code in LANGUAGES], tokenizer)
    texts = [text for code in LANGUAGES
             for text in pq.read_table(small_world.monolingual(code)).column("text").to_pylist()]
    assert [doc.pieces() for doc in documents] == encode_texts(tokenizer, texts)
    assert any(len(doc.sentences) > 1 for doc in documents)
    originals = {tuple(frame.frame(doc.pieces()[:46], doc.language)[0]) for doc in documents}
    batch = denoising_batches(documents, frame, 8, 48, random.Random(0))()
    assert (batch["labels"] == -100).any() and batch["labels"].shape[1] <= 48
    for source, labels in zip(batch["input_ids"], batch["labels"], strict=True):
        source, target = unpadded(source, frame.pad), unpadded(labels, -100)
        assert tuple(target) in originals
        assert source[0] == target[0] and source[0] in frame.language_ids.values()
        assert frame.mask in source and frame.mask not in target and source[-1] == frame.eos


def pretrain(small_world: SmallWorld, tokenizer_dir: Path, spec: dict, output: Path,
             seed: int = SEED) -> Path:
    pretrain_source(spec=spec, languages=LANGUAGES, tokenizer_dir=str(tokenizer_dir),
                    corpus_paths=[str(small_world.monolingual(code)) for code in LANGUAGES],
                    output_dir=str(output), seed=seed, threads=1)
    return output


@pytest.mark.parametrize("architecture", ["mbart", "xlm-roberta"])
def test_pretrain_source_is_reproducible(small_world: SmallWorld, tokenizer_dir: Path, specs: dict,
                                         tmp_path: Path, architecture: str) -> None:
    spec = specs[architecture]
    first = pretrain(small_world, tokenizer_dir, spec, tmp_path / "a")
    record = read_json(first / "training.json")
    assert record["objective"] == "source" and record["seed"] == SEED
    assert record["steps"] == spec["pretraining"]["steps"] and record["tokens"] > 0
    assert record["final_loss"] > 0
    assert load_pretrained(first).config.model_type == architecture
    second = pretrain(small_world, tokenizer_dir, spec, tmp_path / "b")
    assert (first / WEIGHTS_FILE).read_bytes() == (second / WEIGHTS_FILE).read_bytes()
    other = pretrain(small_world, tokenizer_dir, spec, tmp_path / "c", seed=SEED + 1)
    assert (first / WEIGHTS_FILE).read_bytes() != (other / WEIGHTS_FILE).read_bytes()


def test_mt_objective_needs_mbart(small_world: SmallWorld, tokenizer_dir: Path, specs: dict,
                                  random_checkpoints: dict, tmp_path: Path) -> None:
    arguments = dict(spec=specs["xlm-roberta"], languages=LANGUAGES, train_language="en",
                     settings={"tokens": 20, "batch_size": 2, "learning_rate": 0.001, "warmup_ratio": 0.0},
                     source_dir=str(random_checkpoints["xlm-roberta"]),
                     corpus_paths=[str(small_world.parallel("en", "close"))],
                     output_dir=str(tmp_path / "out"), seed=SEED, threads=1)
    with pytest.raises(ValueError, match="objective mt-o2m needs a seq2seq architecture, not xlm-roberta"):
        continue_pretraining(objective="mt-o2m", **arguments)
    with pytest.raises(ValueError, match="unknown continued objective 'mlm'"):
        continue_pretraining(objective="mlm", **arguments)
    assert not (tmp_path / "out").exists()


def test_continue_pretraining_with_mt(small_world: SmallWorld, tokenizer_dir: Path, specs: dict,
                                      random_checkpoints: dict, tmp_path: Path) -> None:
    settings = {"tokens": 150, "batch_size": 2, "learning_rate": 0.001, "warmup_ratio": 0.0}
    continue_pretraining(spec=specs["mbart"], objective="mt-m2o", languages=LANGUAGES,
                         train_language="en", settings=settings,
                         source_dir=str(random_checkpoints["mbart"]),
                         corpus_paths=[str(small_world.parallel("en", "close"))],
                         output_dir=str(tmp_path / "out"), seed=SEED, threads=1)
    record = read_json(tmp_path / "out" / "training.json")
    assert record["objective"] == "mt-m2o" and record["steps"] >= 2
    assert record["sequences"] == 2 * record["steps"]
    source = load_pretrained(random_checkpoints["mbart"]).state_dict()
    continued = load_pretrained(tmp_path / "out").state_dict()
    assert any(not torch.equal(source[key], continued[key]) for key in source)


def test_continued_objectives_read_one_token_budget(small_world: SmallWorld, tokenizer_dir: Path,
                                                    specs: dict, random_checkpoints: dict,
                                                    tmp_path: Path) -> None:
    """Documents are longer than sentence pairs: equal tokens, not equal steps (within 2%)."""
    from mtbridge.budget import budget_frame, unequal

    settings = {"tokens": 25_000, "batch_size": 4, "learning_rate": 0.001, "warmup_ratio": 0.1}
    corpora = {"denoise-cp": [str(small_world.monolingual(code)) for code in LANGUAGES],
               "mt-m2m": [str(small_world.parallel(*pair)) for pair in PARALLEL]}
    folders = []
    for objective, paths in corpora.items():
        folders.append(str(tmp_path / objective))
        continue_pretraining(spec=specs["mbart"], objective=objective, languages=LANGUAGES,
                             train_language="en", settings=settings,
                             source_dir=str(random_checkpoints["mbart"]), corpus_paths=paths,
                             output_dir=folders[-1], seed=SEED, threads=1)
    frame = budget_frame({"mbart": folders}, {"mbart": True}, settings["tokens"])
    assert not unequal(frame)
    assert frame["vs_budget"].between(1.0, 1.02).all(), frame
    steps = dict(zip(frame["objective"], frame["steps"], strict=True))
    assert steps["denoise-cp"] < steps["mt-m2m"]
    assert (frame["decoder_tokens"] > 0).all()
