"""The token-level alignment objectives (issue #15, part 1): TLM batches, and the continued objectives
mlm-cp, tlm-cp and codeswitch-cp under the one token budget."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from conftest import LANGUAGES, PARALLEL, SEED, SmallWorld

from mtbridge.budget import budget_frame, unequal
from mtbridge.codeswitch import write_codeswitched_corpus
from mtbridge.data import write_world_dictionary
from mtbridge.models import WEIGHTS_FILE, load_pretrained
from mtbridge.pretraining import (
    continue_pretraining,
    read_pairs,
    restarting_positions,
    translation_lm_batches,
)
from mtbridge.tokenizer import framing


def test_positions_restart_at_the_second_segment() -> None:
    assert restarting_positions(3, 7, 2) == [2, 3, 4, 2, 3, 4, 5]
    assert restarting_positions(3, 3, 0) == [0, 1, 2]


@pytest.fixture(scope="module")
def tlm_batch(small_world: SmallWorld, tokenizer) -> tuple[dict, list, object]:
    frame = framing(tokenizer, "xlm-roberta", LANGUAGES)
    pairs = read_pairs([str(small_world.parallel(*pair)) for pair in PARALLEL], tokenizer, "tlm-cp", "en")
    batch = translation_lm_batches(pairs, frame, tokenizer, 64, 48, random.Random(SEED))()
    return batch, pairs, frame


def test_tlm_masks_both_sides_and_restarts_positions_per_side(tlm_batch: tuple) -> None:
    batch, pairs, frame = tlm_batch
    framed = {tuple(frame.frame(p.source[:46], p.source_language, p.target[:46])[0]) for p in pairs}
    masked = {"first": 0, "second": 0}
    content = {"first": 0, "second": 0}
    for ids, labels, positions, attention in zip(batch["input_ids"], batch["labels"], batch["position_ids"],
                                                 batch["attention_mask"], strict=True):
        length = int(attention.sum())
        original = torch.where(labels != -100, labels, ids)[:length].tolist()
        assert tuple(original) in framed  # masking replaced pieces only; labels hold the originals
        split = next(i for i in range(length - 1) if original[i] == original[i + 1] == frame.eos) + 1
        start = frame.pad + 1
        restarted = [*range(start, start + split), *range(start, start + length - split)]
        assert positions[:length].tolist() == restarted
        assert (positions[length:] == frame.pad).all()
        special = {frame.bos, frame.eos, frame.pad}
        for side, span in (("first", range(1, split - 1)), ("second", range(split + 1, length - 1))):
            content[side] += len(span)
            masked[side] += sum(int(labels[i] != -100) for i in span)
        assert all(original[i] not in special for i in range(length) if labels[i] != -100)  # specials never
    for side in masked:
        assert 0.08 < masked[side] / content[side] < 0.22, (side, masked, content)


def test_a_tlm_batch_runs_through_the_masked_lm(tlm_batch: tuple, random_checkpoints: dict) -> None:
    batch = tlm_batch[0]
    model = load_pretrained(random_checkpoints["xlm-roberta"])
    assert int(batch["position_ids"].max()) < model.config.max_position_embeddings
    with torch.no_grad():
        assert torch.isfinite(model(**batch).loss)


SETTINGS = {"tokens": 15_000, "batch_size": 4, "learning_rate": 0.001, "warmup_ratio": 0.1}


@pytest.fixture(scope="module")
def switched_corpora(small_world: SmallWorld, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("switched")
    dictionaries = []
    for target in LANGUAGES[1:]:
        write_world_dictionary(small_world.world, SEED, "en", target, root / f"en-{target}.txt")
        dictionaries.append({"source": "en", "target": target, "path": str(root / f"en-{target}.txt")})
    paths = []
    for language in LANGUAGES:
        paths.append(str(root / f"{language}.parquet"))
        write_codeswitched_corpus(corpus_path=small_world.monolingual(language), dictionaries=dictionaries,
                                  share=0.3, seed=SEED, output_path=paths[-1])
    return paths


def continued(spec: dict, objective: str, source: Path, paths: list[str], output: Path) -> str:
    continue_pretraining(spec=spec, objective=objective, languages=LANGUAGES, train_language="en",
                         settings=SETTINGS, source_dir=str(source), corpus_paths=paths,
                         output_dir=str(output), seed=SEED, threads=1)
    return str(output)


def test_the_encoder_objectives_read_one_token_budget(small_world: SmallWorld, specs: dict,
                                                      random_checkpoints: dict, switched_corpora: list[str],
                                                      tmp_path: Path) -> None:
    """Within 2%, as the existing continued objectives; mlm-cp is the masked-LM family's denoise-cp."""
    monolingual = [str(small_world.monolingual(code)) for code in LANGUAGES]
    corpora = {"denoise-cp": monolingual, "mlm-cp": monolingual, "codeswitch-cp": switched_corpora,
               "tlm-cp": [str(small_world.parallel(*pair)) for pair in PARALLEL]}
    folders = [continued(specs["xlm-roberta"], objective, random_checkpoints["xlm-roberta"], paths,
                         tmp_path / objective) for objective, paths in corpora.items()]
    frame = budget_frame({"xlmr": folders}, {"xlmr": False}, SETTINGS["tokens"])
    assert not unequal(frame)
    assert frame["vs_budget"].between(1.0, 1.02).all(), frame
    weights = {objective: (tmp_path / objective / WEIGHTS_FILE).read_bytes() for objective in corpora}
    assert weights["mlm-cp"] == weights["denoise-cp"] != weights["tlm-cp"]


def test_seq2seq_codeswitching_reads_the_same_budget_as_denoising(small_world: SmallWorld, specs: dict,
                                                                  random_checkpoints: dict,
                                                                  switched_corpora: list[str],
                                                                  tmp_path: Path) -> None:
    monolingual = [str(small_world.monolingual(code)) for code in LANGUAGES]
    folders = [continued(specs["mbart"], objective, random_checkpoints["mbart"], paths, tmp_path / objective)
               for objective, paths in (("denoise-cp", monolingual), ("codeswitch-cp", switched_corpora))]
    frame = budget_frame({"mbart": folders}, {"mbart": True}, SETTINGS["tokens"])
    assert not unequal(frame) and frame["vs_budget"].between(1.0, 1.02).all(), frame


def test_the_new_objectives_refuse_what_they_cannot_train(small_world: SmallWorld, specs: dict,
                                                          random_checkpoints: dict, tmp_path: Path) -> None:
    arguments = dict(languages=LANGUAGES, train_language="en", settings=SETTINGS,
                     output_dir=str(tmp_path / "out"), seed=SEED, threads=1)
    for objective in ("mlm-cp", "tlm-cp"):
        message = f"objective {objective} needs a masked-LM architecture, not mbart"
        with pytest.raises(ValueError, match=message):
            continue_pretraining(spec=specs["mbart"], objective=objective,
                                 source_dir=str(random_checkpoints["mbart"]),
                                 corpus_paths=[str(small_world.parallel("en", "close"))], **arguments)
    plain = str(small_world.monolingual("en"))
    with pytest.raises(ValueError, match=r"codeswitch-cp: .*en\.parquet is not a code-switched corpus"):
        continue_pretraining(spec=specs["xlm-roberta"], objective="codeswitch-cp",
                             source_dir=str(random_checkpoints["xlm-roberta"]), corpus_paths=[plain],
                             **arguments)
    assert not (tmp_path / "out").exists()
