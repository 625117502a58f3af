"""Sentence representations at every encoder layer: pooled, dumped once per model × objective × language.

The CKA analysis compares layer representations of the same sentences across languages and models, so a
dump holds, for the parallel evaluation set, one vector per sentence and layer (the embeddings output and
each encoder layer), with the sentence ids that align rows across files.

Batches hold sentences of one length only (no padding at all), sorted by length; computed in float64,
the pooled vectors are then bitwise identical whatever the batch size (measured: float32 differs from
batch size 1 by ~2e-7, enough to flip float16 roundings; float64 in length buckets by exactly 0).
One safetensors file per dump, one float16 tensor per layer, so a reader can load layer by layer;
its metadata is one sorted JSON string, because safetensors writes several metadata keys in a random
order (measured: three runs, three hashes) and the dump must be byte-identical across runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from mtbridge.aliases import PathLike
from mtbridge.io import atomic_path, read_parquet
from mtbridge.models import WEIGHTS_FILE, load_encoder, masked_mean
from mtbridge.tasks import CORPUS_SCHEMA
from mtbridge.tokenizer import Framing, encode_texts, framing, load_tokenizer
from mtbridge.training import seed_everything, select_device

POOLINGS = ("mean", "first", "eos")
PRECISIONS = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16}
METADATA_KEY = "mtbridge"
EMBEDDINGS = "embeddings"


@dataclass(frozen=True)
class Sentence:
    ids: list[int]
    content: list[bool]  # true on text pieces; false on the language tag, <s>, </s>


def frame_sentences(tokenizer, frame: Framing, texts: Sequence[str], language: str,
                    max_length: int) -> list[Sentence]:
    """Each text framed as the model saw it in pretraining, truncated to ``max_length`` pieces."""
    return [Sentence(*frame.frame(pieces[:max_length - 2], language))
            for pieces in encode_texts(tokenizer, texts)]


def length_buckets(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Indices grouped by exact length (shortest first), each group cut into batches of ``batch_size``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda index: (lengths[index], index))
    for _, group in groupby(order, key=lambda index: lengths[index]):
        indices = list(group)
        for start in range(0, len(indices), batch_size):
            yield indices[start:start + batch_size]


def pool(states: torch.Tensor, content: torch.Tensor, pooling: str) -> torch.Tensor:
    """One vector per sentence from unpadded states (batch × length × d): mean over the text pieces,
    the first position (mBART's language tag, XLM-R's <s>), or the last (</s>)."""
    if pooling == "mean":
        return masked_mean(states, content)
    if pooling == "first":
        return states[:, 0]
    if pooling == "eos":
        return states[:, -1]
    raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")


def layer_names(count: int) -> list[str]:
    """Names of the hidden states an encoder returns: its embeddings output, then layer_1 … layer_N."""
    return [EMBEDDINGS, *(f"layer_{index}" for index in range(1, count))]


@torch.inference_mode()
def pooled_layers(encoder: nn.Module, sentences: Sequence[Sentence], pooling: str, batch_size: int,
                  dtype: torch.dtype = torch.float64, device: torch.device | None = None
                  ) -> dict[str, torch.Tensor]:
    """Pooled representations (sentences × d) of every layer, in sentence order, computed in ``dtype``
    on ``device`` (the CPU by default) and returned on the CPU."""
    if not sentences:
        raise ValueError("no sentences to encode")
    device = device or torch.device("cpu")
    encoder = encoder.to(device=device, dtype=dtype).eval()
    pooled: list[list[torch.Tensor]] = []
    order: list[int] = []
    for indices in length_buckets([len(sentence.ids) for sentence in sentences], batch_size):
        input_ids = torch.tensor([sentences[index].ids for index in indices], device=device)
        content = torch.tensor([sentences[index].content for index in indices], device=device)
        states = encoder(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                         output_hidden_states=True).hidden_states
        pooled.append([pool(layer, content, pooling).cpu() for layer in states])
        order += indices
    inverse = torch.argsort(torch.tensor(order))
    names = layer_names(len(pooled[0]))
    return {name: torch.cat([batch[index] for batch in pooled])[inverse] for index, name in enumerate(names)}


def checkpoint_revision(checkpoint_dir: PathLike) -> str:
    """The content hash of a checkpoint's weights: which model a dump came from, across machines."""
    digest = hashlib.sha256()
    with open(Path(checkpoint_dir) / WEIGHTS_FILE, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def write_dump(layers: Mapping[str, torch.Tensor], ids: Sequence[str], meta: Mapping,
               path: PathLike) -> None:
    """One safetensors file: a float16 tensor per layer; ids, layer order and ``meta`` as metadata."""
    record = {**meta, "ids": list(ids), "layers": list(layers)}
    tensors = {name: values.to(torch.float16).contiguous() for name, values in layers.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(record, sort_keys=True)})


@dataclass(frozen=True)
class Dump:
    """A dump opened for reading: metadata now, layers on demand (one at a time keeps memory small)."""

    path: Path
    meta: dict

    @property
    def ids(self) -> list[str]:
        return self.meta["ids"]

    @property
    def layers(self) -> list[str]:
        return self.meta["layers"]

    def layer(self, name: str) -> np.ndarray:
        """One layer's representations (sentences × d), float16 as stored."""
        with safe_open(str(self.path), framework="numpy") as handle:
            return handle.get_tensor(name)


def open_dump(path: PathLike) -> Dump:
    """Read a dump's metadata, failing with one line that names the file if it is not a dump."""
    try:
        with safe_open(str(path), framework="numpy") as handle:
            meta = json.loads((handle.metadata() or {})[METADATA_KEY])
            names = set(handle.keys())
    except (OSError, KeyError, ValueError, SafetensorError) as error:
        raise ValueError(f"{path}: not an activation dump ({type(error).__name__}: {error})") from None
    if set(meta.get("layers", [])) != names or "ids" not in meta:
        raise ValueError(f"{path}: metadata does not match its tensors (layers {meta.get('layers')}, "
                         f"tensors {sorted(names)})")
    return Dump(Path(path), meta)


def dump_activations(*, spec: dict, languages: Sequence[str], language: str, checkpoint_dir: str,
                     evaluation_path: str, output_path: str, pooling: str, batch_size: int,
                     precision: str, threads: int, meta: dict, device: dict | None = None) -> None:
    """Encode one language's evaluation set with a checkpoint's encoder and dump every pooled layer.

    ``spec`` is the model family's config entry (architecture, max_length, language_fallback).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    seed_everything(0, threads)
    rows = read_parquet(evaluation_path, CORPUS_SCHEMA).to_pylist()
    others = sorted({row["language"] for row in rows} - {language})
    if others:
        raise ValueError(f"{evaluation_path}: rows of language(s) {others}, expected only {language!r}")
    tokenizer = load_tokenizer(checkpoint_dir)
    frame = framing(tokenizer, spec["architecture"], languages, spec.get("language_fallback"))
    sentences = frame_sentences(tokenizer, frame, [row["text"] for row in rows], language,
                                spec["max_length"])
    layers = pooled_layers(load_encoder(checkpoint_dir), sentences, pooling, batch_size,
                           PRECISIONS[precision], select_device(device).device)
    write_dump(layers, [row["id"] for row in rows], {
        **meta, "language": language, "pooling": pooling, "precision": precision,
        "revision": checkpoint_revision(checkpoint_dir), "sentences": len(rows),
    }, output_path)
