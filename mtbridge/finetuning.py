"""Fine-tune on the training language, select on its dev set, predict every language zero-shot."""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from mtbridge import evaluation
from mtbridge.aliases import PathLike
from mtbridge.models import EncoderClassifier, load_classifier, load_encoder, save_classifier
from mtbridge.splits import read_task_split
from mtbridge.tasks import TaskSpec, task_of
from mtbridge.tokenizer import Framing, encode_texts, encode_words, framing, load_tokenizer
from mtbridge.training import (
    Batch,
    Device,
    Extra,
    Schedule,
    pad,
    resume_from,
    seed_everything,
    select_device,
    train,
)

LOG = logging.getLogger("mtbridge")
IGNORE = -100
CUT_OFF = -1  # word_predictions' class of a word that truncation left out of the input
OUTSIDE = "O"
UNPREDICTED = "<cut-off>"  # a cut-off word's tag in a task without OUTSIDE: no gold tag equals it


@dataclass(frozen=True)
class Example:
    ids: list[int]
    content: list[bool]
    label: int | list[int]  # class index, or one index per piece (IGNORE where not scored)
    words: int = 0          # tagging: number of words, to restore one tag per word
    segments: list[int] | None = None  # token_type_ids, for the families that read them (mBERT)


def read_split(path: PathLike, spec: TaskSpec) -> list[dict]:
    rows = read_task_split(path, spec.kind).to_pylist()
    if not rows:
        raise ValueError(f"{path}: no examples")
    return rows


def label_index(spec: TaskSpec, label: str, path: PathLike) -> int:
    try:
        return spec.labels.index(label)
    except ValueError:
        raise ValueError(f"{path}: label {label!r} is not one of task {spec.name}'s "
                         f"{list(spec.labels)}") from None


def encode_classification(rows: Sequence[dict], spec: TaskSpec, tokenizer, frame: Framing,
                          max_length: int, path: PathLike) -> list[Example]:
    """Frame ``text_a`` (and ``text_b``) as the architecture expects; truncate both halves evenly."""
    firsts = encode_texts(tokenizer, [row["text_a"] for row in rows])
    seconds = encode_texts(tokenizer, [row["text_b"] or "" for row in rows])
    examples = []
    for row, first, second in zip(rows, firsts, seconds, strict=True):
        paired = row["text_b"] is not None
        room = max_length - 2 - (len(frame.separator()) if paired else 0)
        share = room // 2 if paired else room
        first, second = first[:share], second[:share] if paired else None
        ids, content = frame.frame(first, row["language"], second)
        segments = frame.segment_ids(len(first), len(second) if paired else None)
        examples.append(Example(ids, content, label_index(spec, row["label"], path), segments=segments))
    return examples


def placeholder_pieces(words: Sequence[list[int]], unk: int) -> list[list[int]]:
    """Each word's pieces, the tokenizer's unk for a word its normaliser erased (mBERT strips ``\\u200b``,
    ``\\u200e``, ``\\xad``; XGLUE POS/NER hold such words): XGLUE scores every gold word, so the word
    keeps a position, is trained on and predicted from its context, and later labels stay aligned."""
    return [pieces if pieces else [unk] for pieces in words]


def encode_tagging(rows: Sequence[dict], spec: TaskSpec, tokenizer, frame: Framing,
                   max_length: int, path: PathLike) -> list[Example]:
    """Label each word's first piece; later pieces, specials and truncated words are ignored.

    A word with no pieces gets the unk piece (``placeholder_pieces``); words cut off by truncation are
    predicted as ``cut_off_tag`` (see ``word_predictions``).
    """
    examples = []
    for row, words in zip(rows, encode_words(tokenizer, [r["tokens"] for r in rows]), strict=True):
        pieces, labels = [], []
        for word, tag in zip(placeholder_pieces(words, tokenizer.unk_token_id), row["tags"], strict=True):
            if len(pieces) + len(word) > max_length - 2:
                break
            pieces += word
            labels += [label_index(spec, tag, path)] + [IGNORE] * (len(word) - 1)
        ids, content = frame.frame(pieces, row["language"])
        examples.append(Example(ids, content, [IGNORE] + labels + [IGNORE], len(row["tokens"]),
                                frame.segment_ids(len(pieces))))
    return examples


def encode_split(rows: Sequence[dict], spec: TaskSpec, tokenizer, frame: Framing, max_length: int,
                 path: PathLike) -> list[Example]:
    encode = encode_classification if spec.kind == "classification" else encode_tagging
    return encode(rows, spec, tokenizer, frame, max_length, path)


def collate(examples: Sequence[Example], pad_id: int, token_level: bool) -> Batch:
    input_ids = pad([example.ids for example in examples], pad_id)
    batch = {
        "input_ids": input_ids,
        "attention_mask": (input_ids != pad_id).long(),
        "content_mask": pad([[int(c) for c in example.content] for example in examples], 0).bool(),
    }
    if examples[0].segments is not None:
        batch["token_type_ids"] = pad([example.segments for example in examples], 0)
    if token_level:
        batch["labels"] = pad([example.label for example in examples], IGNORE)
    else:
        batch["labels"] = torch.tensor([example.label for example in examples], dtype=torch.long)
    return batch


def length_sorted_batches(examples: Sequence[Example], batch_size: int) -> Iterator[list[int]]:
    """Indices in batches of similar length: less padding, same results for any order."""
    order = sorted(range(len(examples)), key=lambda index: (len(examples[index].ids), index))
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


@torch.inference_mode()
def batched_logits(model: EncoderClassifier, examples: Sequence[Example], pad_id: int, batch_size: int,
                   device: Device) -> Iterator[tuple[list[int], list[Example], torch.Tensor]]:
    """(indices, examples, float32 logits on the CPU) per length-sorted batch."""
    model.eval()
    for indices in length_sorted_batches(examples, batch_size):
        chosen = [examples[index] for index in indices]
        batch = device.move(collate(chosen, pad_id, model.token_level))
        with device.context():
            _, logits = model(batch["input_ids"], batch["attention_mask"], batch["content_mask"],
                              token_type_ids=batch.get("token_type_ids"))
        yield indices, chosen, logits.float().cpu()


def predict_split(model: EncoderClassifier, examples: Sequence[Example], pad_id: int, batch_size: int,
                  device: Device, grades: torch.Tensor | None = None
                  ) -> tuple[list[int | list[int]], list[float] | None]:
    """Predicted class per example (per word, first piece, for tagging) and, given the labels' relevance
    ``grades`` (WPR), each example's ranking score in the same pass: the grade expected under the
    predicted distribution, finer than the arg-max grade, which ties most pages of a query."""
    predictions: list[int | list[int]] = [0] * len(examples)
    relevance = [0.0] * len(examples) if grades is not None else None
    for indices, chosen, logits in batched_logits(model, examples, pad_id, batch_size, device):
        best = logits.argmax(dim=-1)
        expected = logits.softmax(dim=-1) @ grades if grades is not None else None
        for row, (index, example) in enumerate(zip(indices, chosen, strict=True)):
            predictions[index] = word_predictions(best[row], example) if model.token_level \
                else int(best[row])
            if expected is not None:
                relevance[index] = float(expected[row])
    return predictions, relevance


def predict_indices(model: EncoderClassifier, examples: Sequence[Example], pad_id: int,
                    batch_size: int = 64, device: Device | None = None) -> list[int | list[int]]:
    """Predicted class per example, or predicted class per word (first piece) for tagging."""
    return predict_split(model, examples, pad_id, batch_size,
                         device or select_device({"accelerator": "cpu"}))[0]


def word_predictions(best: torch.Tensor, example: Example) -> list[int]:
    """One class per word: the first piece's; words cut off by truncation get ``CUT_OFF``."""
    scored = [int(best[position]) for position, label in enumerate(example.label) if label != IGNORE]
    return scored + [CUT_OFF] * (example.words - len(scored))


def cut_off_tag(spec: TaskSpec) -> str:
    """The tag of a word truncation cut off. XGLUE scores every gold word, so the word must get one:
    the outside tag ``O`` where the task has it (NER: no entity there, so an entity cut off is a miss
    for entity F1), else ``UNPREDICTED``, which no gold tag equals, so POS accuracy counts it wrong."""
    return OUTSIDE if OUTSIDE in spec.labels else UNPREDICTED


def tag_names(spec: TaskSpec, indices: Sequence[int]) -> list[str]:
    return [cut_off_tag(spec) if index == CUT_OFF else spec.labels[index] for index in indices]


def gold_and_predicted(rows: Sequence[dict], spec: TaskSpec, predicted: Sequence[int | list[int]]
                       ) -> tuple[list, list]:
    if spec.kind == "classification":
        return [row["label"] for row in rows], [spec.labels[index] for index in predicted]
    return [list(row["tags"]) for row in rows], [tag_names(spec, sequence) for sequence in predicted]


@dataclass(frozen=True)
class Scored:
    """A split's predictions and its score under the task's metric."""

    gold: list
    predicted: list
    relevance: list[float] | None
    score: float


def score_split(model: EncoderClassifier, rows: Sequence[dict], examples: Sequence[Example],
                spec: TaskSpec, pad_id: int, batch_size: int, device: Device) -> Scored:
    """Predict a split and score it: nDCG over each query's pages (WPR), else the task's metric."""
    grades = torch.tensor([float(label) for label in spec.labels]) if spec.metric == "ndcg" else None
    indices, relevance = predict_split(model, examples, pad_id, batch_size, device, grades)
    gold, predicted = gold_and_predicted(rows, spec, indices)
    score = evaluation.split_score(spec.metric, rows, gold, predicted, relevance)
    return Scored(gold, predicted, relevance, score)


def epoch_batches(examples: Sequence[Example], batch_size: int, pad_id: int, token_level: bool,
                  rng: random.Random):
    """An endless stream of shuffled training batches, reshuffled every epoch."""
    def stream() -> Iterator[Batch]:
        while True:
            order = list(range(len(examples)))
            rng.shuffle(order)
            for start in range(0, len(order), batch_size):
                yield collate([examples[i] for i in order[start:start + batch_size]], pad_id,
                              token_level)
    iterator = stream()
    return lambda: next(iterator)


def classifier_loss(model: EncoderClassifier, batch: Batch) -> torch.Tensor:
    return model(**batch)[0]


def finetune(*, task: dict, spec: dict, languages: Sequence[str], settings: dict, checkpoint_dir: str,
             train_path: str, dev_path: str, output_dir: str, seed: int, threads: int, head: dict,
             device: dict | None = None, resume: dict | None = None) -> None:
    """Fine-tune the checkpoint's encoder with a fresh head; keep the best dev-set state.

    ``task`` is the task definition, ``spec`` the model family's config entry.
    """
    definition = task_of(task)
    rng = seed_everything(seed, threads)
    where = select_device(device)
    tokenizer = load_tokenizer(checkpoint_dir)
    frame = framing(tokenizer, spec["architecture"], languages, spec.get("language_fallback"))
    max_length = spec["max_length"]
    train_rows, dev_rows = read_split(train_path, definition), read_split(dev_path, definition)
    train_examples = encode_split(train_rows, definition, tokenizer, frame, max_length, train_path)
    dev_examples = encode_split(dev_rows, definition, tokenizer, frame, max_length, dev_path)
    token_level = definition.kind == "tagging"
    model = EncoderClassifier(load_encoder(checkpoint_dir), len(definition.labels), token_level,
                              settings["dropout"], settings["pooling"]).to(where.device)
    per_step = settings["batch_size"] * settings.get("gradient_accumulation", 1)
    steps_per_epoch = math.ceil(len(train_examples) / per_step)
    steps = settings["epochs"] * steps_per_epoch
    best = {"score": -1.0, "step": 0, "state": None}

    def evaluate(step: int) -> None:
        score = score_split(model, dev_rows, dev_examples, definition, frame.pad,
                            settings.get("eval_batch_size", 64), where).score
        LOG.info("step %d dev %s %.4f", step, definition.metric, score)
        if score > best["score"]:
            state = {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}
            best.update(score=score, step=step, state=state)

    schedule = Schedule(steps=steps, learning_rate=settings["learning_rate"],
                        warmup_steps=round(settings["warmup_ratio"] * steps),
                        gradient_accumulation=settings.get("gradient_accumulation", 1), log_every=20)
    state = resume_from(resume)
    record = train(model, epoch_batches(train_examples, settings["batch_size"], frame.pad,
                                        token_level, rng),
                   classifier_loss, schedule, evaluate,
                   max(1, steps_per_epoch // settings["evaluations_per_epoch"]), device=where,
                   resume=state, rng=rng, extra=Extra(lambda: best, best.update))
    model.cpu().load_state_dict(best["state"])
    save_classifier(model, output_dir, {
        **head, "task": definition.name, "labels": list(definition.labels), "seed": seed,
        "selected_step": best["step"], "dev_score": round(best["score"], 6), **record,
    }, tokenizer)
    if state is not None:
        state.clear()


def predict(*, task: dict, spec: dict, languages: Sequence[str], finetuned_dir: str, test_path: str,
            predictions_path: str, metrics_path: str, meta: dict, threads: int,
            batch_size: int = 64, device: dict | None = None) -> None:
    """Predict one language's test set; write (id, gold, predicted) and the task's metric."""
    definition = task_of(task)
    seed_everything(0, threads)
    where = select_device(device)
    tokenizer = load_tokenizer(finetuned_dir)
    frame = framing(tokenizer, spec["architecture"], languages, spec.get("language_fallback"))
    model, head = load_classifier(finetuned_dir)
    if tuple(head["labels"]) != definition.labels:
        raise ValueError(f"{finetuned_dir}: head labels {head['labels']} differ from task "
                         f"{definition.name}'s {list(definition.labels)}")
    rows = read_split(test_path, definition)
    examples = encode_split(rows, definition, tokenizer, frame, spec["max_length"], test_path)
    scored = score_split(model.to(where.device), rows, examples, definition, frame.pad, batch_size, where)
    evaluation.write_predictions(predictions_path, definition, rows, scored.gold, scored.predicted,
                                 scored.relevance)
    evaluation.write_metrics(metrics_path, **meta, metric=definition.metric, score=scored.score,
                             examples=len(rows))
