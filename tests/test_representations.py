"""Activation dumps: what is pooled, how it is stored, and that batching never changes a byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import LANGUAGES, SEED, SmallWorld
from safetensors.torch import save_file

from mtbridge.io import write_parquet
from mtbridge.models import load_encoder
from mtbridge.representations import (
    dump_activations,
    frame_sentences,
    layer_names,
    length_buckets,
    open_dump,
    pooled_layers,
)
from mtbridge.synthetic import World
from mtbridge.tasks import CORPUS_SCHEMA
from mtbridge.tokenizer import framing

SENTENCES = 40


@pytest.fixture(scope="module")
def evaluation_path(small_world: SmallWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A larger parallel evaluation set than the shared world's, so batches really differ."""
    path = tmp_path_factory.mktemp("evaluation") / "close.parquet"
    write_parquet(World(small_world.world, SEED).evaluation("close", SENTENCES), path, CORPUS_SCHEMA)
    return path


def dump(checkpoint: Path, evaluation: Path, output: Path, architecture: str,
         **overrides) -> Path:
    arguments = dict(spec={"architecture": architecture, "max_length": 48}, languages=list(LANGUAGES),
                     language="close", checkpoint_dir=str(checkpoint),
                     evaluation_path=str(evaluation), output_path=str(output), pooling="mean",
                     batch_size=64, precision="float64", threads=1,
                     meta={"model": "tiny", "objective": "random-init"})
    dump_activations(**(arguments | overrides))
    return output


def test_length_buckets_hold_one_length_each_and_every_index_once() -> None:
    lengths = [5, 3, 5, 9, 3, 5, 5, 3]
    batches = list(length_buckets(lengths, batch_size=3))
    assert sorted(index for batch in batches for index in batch) == list(range(len(lengths)))
    assert all(len({lengths[index] for index in batch}) == 1 and len(batch) <= 3 for batch in batches)
    assert [lengths[batch[0]] for batch in batches] == [3, 5, 5, 9]
    with pytest.raises(ValueError, match="batch_size"):
        list(length_buckets(lengths, 0))


@pytest.mark.parametrize("architecture", ["mbart", "xlm-roberta"])
def test_dump_bytes_do_not_depend_on_batch_size(tmp_path: Path, tokenizer_dir: Path, random_checkpoints: dict,
                                               evaluation_path: Path, architecture: str) -> None:
    digests = set()
    for batch_size in (1, 3, 64):
        path = dump(random_checkpoints[architecture], evaluation_path,
                    tmp_path / f"batch{batch_size}.safetensors", architecture, batch_size=batch_size)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1


@pytest.mark.parametrize("architecture", ["mbart", "xlm-roberta"])
def test_dump_holds_every_layer_with_ids_and_revision(tmp_path: Path, tokenizer_dir: Path,
                                                      random_checkpoints: dict, evaluation_path: Path,
                                                      architecture: str) -> None:
    checkpoint = random_checkpoints[architecture]
    opened = open_dump(dump(checkpoint, evaluation_path, tmp_path / "d.safetensors",
                            architecture))
    layers = load_encoder(checkpoint).config.num_hidden_layers
    assert opened.layers == ["embeddings", *(f"layer_{i}" for i in range(1, layers + 1))]
    assert opened.ids == [f"eval-{i:06d}" for i in range(1, SENTENCES + 1)]
    weights = hashlib.sha256((checkpoint / "model.safetensors").read_bytes()).hexdigest()
    assert opened.meta["revision"] == f"sha256:{weights}"
    assert {key: opened.meta[key] for key in ("model", "objective", "language", "pooling", "precision")} == {
        "model": "tiny", "objective": "random-init", "language": "close", "pooling": "mean",
        "precision": "float64"}
    values = opened.layer("layer_1")
    assert values.dtype == np.float16 and values.shape == (SENTENCES, 32)
    assert len({row.tobytes() for row in values}) == SENTENCES  # sentences really differ


@pytest.mark.parametrize("architecture", ["mbart", "xlm-roberta"])
def test_pooling_takes_text_pieces_first_or_last_position(tokenizer, random_checkpoints: dict,
                                                         architecture: str) -> None:
    frame = framing(tokenizer, architecture, LANGUAGES)
    sentences = frame_sentences(tokenizer, frame, ["the quick fox runs", "a dog"], "close", 48)
    assert all(not s.content[0] and not s.content[-1] and all(s.content[1:-1]) for s in sentences)
    encoder = load_encoder(random_checkpoints[architecture]).double().eval()
    pooled = {pooling: pooled_layers(encoder, sentences, pooling, batch_size=8)
              for pooling in ("mean", "first", "eos")}
    for index, sentence in enumerate(sentences):
        ids = torch.tensor([sentence.ids])
        with torch.no_grad():
            states = encoder(input_ids=ids, output_hidden_states=True).hidden_states
        assert list(pooled["mean"]) == layer_names(len(states))
        for name, layer in zip(layer_names(len(states)), states, strict=True):
            torch.testing.assert_close(pooled["mean"][name][index], layer[0, 1:-1].mean(dim=0))
            torch.testing.assert_close(pooled["first"][name][index], layer[0, 0])
            torch.testing.assert_close(pooled["eos"][name][index], layer[0, -1])


def test_dump_refuses_bad_settings_and_other_languages(tmp_path: Path, tokenizer_dir: Path,
                                                       random_checkpoints: dict,
                                                       evaluation_path: Path) -> None:
    checkpoint, output = random_checkpoints["mbart"], tmp_path / "d.safetensors"
    with pytest.raises(ValueError, match="pooling must be one of"):
        dump(checkpoint, evaluation_path, output, "mbart", pooling="max")
    with pytest.raises(ValueError, match="precision must be one of"):
        dump(checkpoint, evaluation_path, output, "mbart", precision="float16")
    with pytest.raises(ValueError, match=r"rows of language\(s\) \['close'\], expected only 'isolate'"):
        dump(checkpoint, evaluation_path, output, "mbart", language="isolate")
    assert not output.exists() and not list(tmp_path.iterdir())


def test_open_dump_names_a_file_that_is_not_a_dump(tmp_path: Path) -> None:
    plain = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(2, 2)}, str(plain))
    with pytest.raises(ValueError, match=r"plain\.safetensors: not an activation dump"):
        open_dump(plain)
    text = tmp_path / "text.safetensors"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"text\.safetensors: not an activation dump"):
        open_dump(text)
    mismatched = tmp_path / "mismatched.safetensors"
    save_file({"x": torch.zeros(2, 2)}, str(mismatched),
              metadata={"mtbridge": '{"ids": ["a", "b"], "layers": ["embeddings"]}'})
    with pytest.raises(ValueError, match="metadata does not match its tensors"):
        open_dump(mismatched)
