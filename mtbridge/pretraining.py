"""Pretraining (objective ``source``) and continued pretraining of the model families.

- mBART family: denoising as in Liu et al. (2020): sentence permutation, then text
  infilling (Poisson(3.5) spans covering 35% of the tokens, each replaced by one
  ``<mask>``); the decoder reconstructs the original.
- XLM-R family: masked LM (transformers' ``DataCollatorForLanguageModeling``, 15%).
- Continued objectives, all with one budget in tokens read (encoder plus decoder side, counted
  on the batches actually drawn): ``mt-m2m``, ``mt-o2m`` (en→X), ``mt-m2o`` (X→en) on the
  parallel corpora, and ``denoise-cp``, the source objective continued, which tells "MT hurts"
  from "more training hurts". A budget in steps would not be equal: documents are longer than
  sentence pairs.
  In the XGLUE study the denoising control reads the same parallel corpora, each side as
  monolingual text: the same sentences as the MT objectives, without the alignment.
- Token-level alignment (issue #15), same budget rule: ``codeswitch-cp``, the source objective on a
  code-switched corpus (``mtbridge.codeswitch``), for either family; for the masked-LM family
  ``mlm-cp``, masked LM continued (the control; the same batches as its ``denoise-cp``), and
  ``tlm-cp``, XLM's translation language modelling (Conneau & Lample 2019): a parallel pair in one
  sequence, ``<s> x </s></s> y </s>``, masked as the source masked LM masks (special tokens never),
  with position ids restarting where the second sentence's segment (``</s> y </s>``) begins.
- ``random-init``: the architecture saved untrained, the floor of every table.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import torch
from torch import nn

from mtbridge.aliases import PathLike
from mtbridge.models import build_config, load_pretrained, pretraining_model, save_pretrained
from mtbridge.objectives import ENCODER_ONLY_OBJECTIVES, TRAINABLE_CONTINUED
from mtbridge.tokenizer import Framing, encode_texts, framing, load_tokenizer
from mtbridge.training import (
    Batch,
    Schedule,
    batch_reads,
    budget_tokens,
    pad,
    resume_from,
    seed_everything,
    select_device,
    train,
)

MASK_RATIO = 0.35
MEAN_SPAN = 3.5
SENTENCE_END = re.compile(r"(?<= \.) ")


@dataclass(frozen=True)
class Document:
    language: str
    sentences: list[list[int]]

    def pieces(self) -> list[int]:
        """The document's sentences in their original order."""
        return [piece for sentence in self.sentences for piece in sentence]


@dataclass(frozen=True)
class Pair:
    source_language: str
    source: list[int]
    target_language: str
    target: list[int]


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means used here are small)."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def permute_sentences(sentences: Sequence[Sequence[int]], rng: random.Random) -> list[int]:
    """mBART's sentence permutation: shuffle the sentences of a document, then concatenate."""
    order = list(range(len(sentences)))
    rng.shuffle(order)
    return [piece for index in order for piece in sentences[index]]


def infill_spans(ids: Sequence[int], rng: random.Random, mask_id: int,
                 ratio: float = MASK_RATIO, mean_span: float = MEAN_SPAN) -> list[int]:
    """BART text infilling: spans with Poisson lengths, each replaced by a single mask.

    Spans are drawn until ``ratio`` of the tokens are covered; a zero-length span
    inserts a mask without removing anything (the model must learn span lengths).
    """
    budget = round(ratio * len(ids))
    masked = [False] * len(ids)
    inserted: set[int] = set()
    covered = 0
    while covered < budget:
        start = rng.randrange(len(ids))
        length = min(poisson(rng, mean_span), budget - covered)
        if length == 0:
            inserted.add(start)
            covered += 1  # an insertion costs one unit so the loop always ends
            continue
        for position in range(start, min(start + length, len(ids))):
            if not masked[position]:
                masked[position] = True
                covered += 1
    noised: list[int] = []
    for position, piece in enumerate(ids):
        if position in inserted and (not noised or noised[-1] != mask_id):
            noised.append(mask_id)  # next to a masked span, an insertion merges into its mask
        if masked[position]:
            if not noised or noised[-1] != mask_id:
                noised.append(mask_id)
        else:
            noised.append(piece)
    return noised


def corpus_texts(path: PathLike) -> list[dict]:
    """``{language, text}`` rows of a monolingual corpus, or of both sides of a parallel one."""
    table = pq.read_table(path)
    if "text" in table.column_names:
        return table.select(["language", "text"]).to_pylist()
    return [{"language": row[f"{side}_language"], "text": row[side]}
            for row in table.to_pylist() for side in ("source", "target")]


def read_documents(paths: Sequence[PathLike], tokenizer) -> list[Document]:
    """Monolingual documents, split into sentences and encoded once."""
    documents = []
    for path in paths:
        table = corpus_texts(path)
        sentences = [SENTENCE_END.split(row["text"]) for row in table]
        flat = encode_texts(tokenizer, [sentence for doc in sentences for sentence in doc])
        start = 0
        for row, doc in zip(table, sentences, strict=True):
            documents.append(Document(row["language"], flat[start:start + len(doc)]))
            start += len(doc)
    return documents


def read_pairs(paths: Sequence[PathLike], tokenizer, objective: str,
               train_language: str) -> list[Pair]:
    """Translation pairs for an MT objective: both directions (m2m), en→X (o2m) or X→en (m2o)."""
    pairs = []
    for path in paths:
        rows = pq.read_table(path).to_pylist()
        sources = encode_texts(tokenizer, [row["source"] for row in rows])
        targets = encode_texts(tokenizer, [row["target"] for row in rows])
        for row, source, target in zip(rows, sources, targets, strict=True):
            forward = Pair(row["source_language"], source, row["target_language"], target)
            backward = Pair(row["target_language"], target, row["source_language"], source)
            pairs.extend(pair for pair in (forward, backward) if keeps_direction(pair, objective,
                                                                                train_language))
    if not pairs:
        raise ValueError(f"objective {objective}: no parallel pairs in {list(map(str, paths))}")
    return pairs


def keeps_direction(pair: Pair, objective: str, train_language: str) -> bool:
    if objective == "mt-o2m":
        return pair.source_language == train_language
    if objective == "mt-m2o":
        return pair.target_language == train_language
    return True


def truncate(ids: Sequence[int], length: int) -> list[int]:
    return list(ids[:length])


def denoising_batches(documents: Sequence[Document], frame: Framing, batch_size: int,
                      max_length: int, rng: random.Random) -> Callable[[], Batch]:
    """Batches of (noised document → original document), both framed mBART-50 style."""
    def next_batch() -> Batch:
        sources, targets = [], []
        for document in rng.choices(documents, k=batch_size):
            original = truncate(document.pieces(), max_length - 2)
            permuted = truncate(permute_sentences(document.sentences, rng), max_length - 2)
            sources.append(frame.frame(infill_spans(permuted, rng, frame.mask), document.language)[0])
            targets.append(frame.frame(original, document.language)[0])
        return seq2seq_batch(sources, targets, frame.pad)
    return next_batch


def translation_batches(pairs: Sequence[Pair], frame: Framing, batch_size: int, max_length: int,
                        rng: random.Random) -> Callable[[], Batch]:
    """Batches of ``[src_lang] x </s>`` → ``[tgt_lang] y </s>``, as mBART-50 MT fine-tuning."""
    def next_batch() -> Batch:
        chosen = rng.choices(pairs, k=batch_size)
        sources = [frame.frame(truncate(p.source, max_length - 2), p.source_language)[0] for p in chosen]
        targets = [frame.frame(truncate(p.target, max_length - 2), p.target_language)[0] for p in chosen]
        return seq2seq_batch(sources, targets, frame.pad)
    return next_batch


def seq2seq_batch(sources: list[list[int]], targets: list[list[int]], pad_id: int) -> Batch:
    input_ids = pad(sources, pad_id)
    labels = pad(targets, -100)
    return {"input_ids": input_ids, "attention_mask": (input_ids != pad_id).long(), "labels": labels}


def masked_lm_batches(documents: Sequence[Document], frame: Framing, tokenizer, batch_size: int,
                      max_length: int, rng: random.Random) -> Callable[[], Batch]:
    """Masked-LM batches over ``<s> document </s>`` (XLM-R uses no language tags)."""
    from transformers import DataCollatorForLanguageModeling

    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, return_tensors="pt")

    def next_batch() -> Batch:
        examples = []
        for document in rng.choices(documents, k=batch_size):
            ids = truncate(document.pieces(), max_length - 2)
            examples.append({"input_ids": frame.frame(ids, document.language)[0]})
        batch = collator(examples)
        return {key: batch[key] for key in ("input_ids", "attention_mask", "labels")}
    return next_batch


def restarting_positions(first: int, length: int, start: int) -> list[int]:
    """Position ids of a two-segment sequence whose second segment starts at index ``first``: each
    segment counts from ``start`` (XLM's TLM; RoBERTa's positions start after the padding index)."""
    return [start + index for index in range(first)] + [start + index for index in range(length - first)]


def translation_lm_batches(pairs: Sequence[Pair], frame: Framing, tokenizer, batch_size: int,
                           max_length: int, rng: random.Random) -> Callable[[], Batch]:
    """TLM batches: each pair framed as the family frames a text pair (XLM-R ``<s> x </s></s> y </s>``),
    each side truncated to ``max_length - 2`` pieces, masked by the source objective's collator (both
    sides alike), with position ids restarting at the second segment, so each side has the positions it
    has alone and every position id stays within the model's table."""
    from transformers import DataCollatorForLanguageModeling

    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, return_tensors="pt")
    start = frame.pad + 1 if frame.double_separator else 0  # RoBERTa counts after its padding index

    def next_batch() -> Batch:
        examples, positions, segments = [], [], []
        for pair in rng.choices(pairs, k=batch_size):
            first, second = truncate(pair.source, max_length - 2), truncate(pair.target, max_length - 2)
            ids = frame.frame(first, pair.source_language, second)[0]
            examples.append({"input_ids": ids})
            positions.append(restarting_positions(len(first) + 2, len(ids), start))
            segments.append(frame.segment_ids(len(first), len(second)))
        batch = collator(examples)
        out = {key: batch[key] for key in ("input_ids", "attention_mask", "labels")}
        out["position_ids"] = pad(positions, frame.pad if frame.double_separator else 0)
        if frame.segments:
            out["token_type_ids"] = pad(segments, 0)
        return out
    return next_batch


def steps_for_budget(make_batches: Callable[[random.Random], Callable[[], Batch]], rng: random.Random,
                     tokens: int, accumulation: int, seq2seq: bool) -> int:
    """Optimizer steps until the batch stream has read ``tokens``, by a dry run of the same stream (a
    copy of its RNG, torch's RNG restored after): training then reads those very batches."""
    probe = random.Random()
    probe.setstate(rng.getstate())
    next_batch = make_batches(probe)
    read = batches = 0
    with torch.random.fork_rng(devices=[]):
        while read < tokens:
            read += budget_tokens(batch_reads(next_batch()), seq2seq)
            batches += 1
    return math.ceil(batches / accumulation)


def model_loss(model: nn.Module, batch: Batch) -> torch.Tensor:
    return model(**batch).loss


def schedule_of(settings: dict) -> Schedule:
    return Schedule(steps=settings["steps"], learning_rate=settings["learning_rate"],
                    warmup_steps=settings["warmup_steps"],
                    gradient_accumulation=settings.get("gradient_accumulation", 1))


def source_batches(architecture: str, documents: Sequence[Document], frame: Framing, tokenizer,
                   batch_size: int, max_length: int, rng: random.Random) -> Callable[[], Batch]:
    """The family's own pretraining objective: denoising (mBART) or masked LM (XLM-R)."""
    if frame.seq2seq:
        return denoising_batches(documents, frame, batch_size, max_length, rng)
    return masked_lm_batches(documents, frame, tokenizer, batch_size, max_length, rng)


def check_codeswitched(paths: Sequence[PathLike]) -> None:
    """``codeswitch-cp`` reads corpora written by ``mtbridge.codeswitch``, which carry a ``switched``
    column; a plain corpus would silently make it the denoising control."""
    for path in paths:
        if "switched" not in pq.read_schema(path).names:
            raise ValueError(f"objective codeswitch-cp: {path} is not a code-switched corpus (no 'switched' "
                             f"column); write it with mtbridge.codeswitch.write_codeswitched_corpus")


def continued_batches(objective: str, spec: dict, frame: Framing, tokenizer, corpus_paths: Sequence[str],
                      train_language: str, batch_size: int) -> Callable[[random.Random], Callable[[], Batch]]:
    """The batch stream of a continued objective, given the RNG it draws from."""
    if objective in ENCODER_ONLY_OBJECTIVES and frame.seq2seq:
        raise ValueError(f"objective {objective} needs a masked-LM architecture, not {spec['architecture']}")
    if objective == "codeswitch-cp":
        check_codeswitched(corpus_paths)
    if objective in ("denoise-cp", "mlm-cp", "codeswitch-cp"):
        documents = read_documents(corpus_paths, tokenizer)
        return functools.partial(source_batches, spec["architecture"], documents, frame, tokenizer,
                                 batch_size, spec["max_length"])
    if objective == "tlm-cp":
        pairs = read_pairs(corpus_paths, tokenizer, objective, train_language)
        return functools.partial(translation_lm_batches, pairs, frame, tokenizer, batch_size,
                                 spec["max_length"])
    if not frame.seq2seq:
        raise ValueError(f"objective {objective} needs a seq2seq architecture, not {spec['architecture']}")
    pairs = read_pairs(corpus_paths, tokenizer, objective, train_language)
    return functools.partial(translation_batches, pairs, frame, batch_size, spec["max_length"])


def pretrain_source(*, spec: dict, languages: Sequence[str], tokenizer_dir: str,
                    corpus_paths: Sequence[str], output_dir: str, seed: int, threads: int,
                    device: dict | None = None, resume: dict | None = None) -> None:
    """Objective ``source``: pretrain a fresh model on the monolingual corpora.

    ``resume`` (directory, key, every; see mtbridge.training.Resume) lets a killed job continue.
    """
    rng = seed_everything(seed, threads)
    tokenizer = load_tokenizer(tokenizer_dir)
    frame = framing(tokenizer, spec["architecture"], languages)
    model = pretraining_model(build_config(spec["architecture"], spec, tokenizer))
    documents = read_documents(corpus_paths, tokenizer)
    settings = spec["pretraining"]
    batches = source_batches(spec["architecture"], documents, frame, tokenizer,
                             settings["batch_size"], spec["max_length"], rng)
    state = resume_from(resume)
    record = train(model, batches, model_loss, schedule_of(settings), device=select_device(device),
                   resume=state, rng=rng)
    save_pretrained(model.cpu(), output_dir,
                    {"objective": "source", "seed": seed, **settings, **record}, tokenizer)
    if state is not None:
        state.clear()


def continue_pretraining(*, spec: dict, objective: str, languages: Sequence[str],
                         train_language: str, settings: dict, source_dir: str,
                         corpus_paths: Sequence[str], output_dir: str, seed: int,
                         threads: int, device: dict | None = None, resume: dict | None = None) -> None:
    """Continue the ``source`` checkpoint with ``objective`` until it has read ``settings["tokens"]``.

    ``corpus_paths`` are the parallel corpora for MT objectives and ``tlm-cp``; for ``denoise-cp`` and
    ``mlm-cp`` the monolingual corpora (synthetic world) or the parallel ones read as monolingual text
    (XGLUE); for ``codeswitch-cp`` those corpora code-switched (``mtbridge.codeswitch``).
    """
    if objective not in TRAINABLE_CONTINUED:
        raise ValueError(f"unknown continued objective {objective!r}; expected {TRAINABLE_CONTINUED}")
    rng = seed_everything(seed, threads)
    tokenizer = load_tokenizer(source_dir)
    frame = framing(tokenizer, spec["architecture"], languages, spec.get("language_fallback"))
    model = load_pretrained(source_dir)
    make_batches = continued_batches(objective, spec, frame, tokenizer, corpus_paths, train_language,
                                     settings["batch_size"])
    accumulation = settings.get("gradient_accumulation", 1)
    steps = steps_for_budget(make_batches, rng, settings["tokens"], accumulation, frame.seq2seq)
    schedule = Schedule(steps=steps, learning_rate=settings["learning_rate"],
                        warmup_steps=round(settings["warmup_ratio"] * steps),
                        gradient_accumulation=accumulation)
    state = resume_from(resume)
    record = train(model, make_batches(rng), model_loss, schedule, device=select_device(device),
                   resume=state, rng=rng)
    save_pretrained(model.cpu(), output_dir,
                    {"objective": objective, "seed": seed, **settings, "steps": steps, **record}, tokenizer)
    if state is not None:
        state.clear()


def random_init(*, spec: dict, tokenizer_dir: str, output_dir: str, seed: int, threads: int) -> None:
    """Objective ``random-init``: the untrained architecture, saved like any checkpoint.

    ``tokenizer_dir`` is the synthetic tokenizer (sizes from ``spec``) or the source checkpoint of a
    hub family, whose architecture is then rebuilt with fresh weights.
    """
    from transformers import AutoConfig

    seed_everything(seed, threads)
    tokenizer = load_tokenizer(tokenizer_dir)
    if (Path(tokenizer_dir) / "config.json").exists():
        config = AutoConfig.from_pretrained(tokenizer_dir)
    else:
        config = build_config(spec["architecture"], spec, tokenizer)
    save_pretrained(pretraining_model(config), output_dir,
                    {"objective": "random-init", "seed": seed, "steps": 0}, tokenizer)
