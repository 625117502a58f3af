"""Fine-tuning: encoding task rows for the encoder, batching-independent prediction, end to end."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from conftest import LANGUAGES, SEED, SmallWorld

from mtbridge import evaluation
from mtbridge.finetuning import (
    CUT_OFF,
    IGNORE,
    collate,
    encode_classification,
    encode_tagging,
    finetune,
    predict,
    predict_indices,
    word_predictions,
)
from mtbridge.io import read_json
from mtbridge.models import HEAD_FILE, WEIGHTS_FILE, EncoderClassifier, load_encoder, masked_mean
from mtbridge.tasks import predictions_schema, task_spec
from mtbridge.tokenizer import encode_texts, encode_words, framing

SETTINGS = {"epochs": 1, "batch_size": 8, "learning_rate": 0.001, "warmup_ratio": 0.1, "dropout": 0.1,
            "evaluations_per_epoch": 2, "pooling": "mean"}


def rows_of(small_world: SmallWorld, task: str, split: str, *languages: str) -> list[dict]:
    return [row for language in languages
            for row in pq.read_table(small_world.split(task, split, language)).to_pylist()]


def scored(example) -> list[int]:
    return [label for label in example.label if label != IGNORE]


def test_tagging_labels_first_pieces_only(small_world: SmallWorld, tokenizer) -> None:
    spec = task_spec("pos", small_world.world)
    frame = framing(tokenizer, "mbart", LANGUAGES)
    rows = rows_of(small_world, "pos", "test", *LANGUAGES)
    examples = encode_tagging(rows, spec, tokenizer, frame, 200, "pos.parquet")
    split_words = 0
    for row, example, words in zip(rows, examples, encode_words(tokenizer, [r["tokens"] for r in rows]),
                                   strict=True):
        assert example.ids == frame.frame([piece for word in words for piece in word], row["language"])[0]
        assert len(example.label) == len(example.ids) == len(example.content)
        expected = [IGNORE]
        for word, tag in zip(words, row["tags"], strict=True):
            expected += [spec.labels.index(tag)] + [IGNORE] * (len(word) - 1)
            split_words += len(word) > 1
        assert example.label == expected + [IGNORE]  # the closing </s> is ignored too
        assert len(scored(example)) == example.words == len(row["tokens"])
    assert split_words > 0


def test_tagging_truncation_keeps_whole_words(small_world: SmallWorld, tokenizer) -> None:
    spec = task_spec("ner", small_world.world)
    frame = framing(tokenizer, "xlm-roberta", LANGUAGES)
    rows = rows_of(small_world, "ner", "test", "en", "isolate")
    full = encode_tagging(rows, spec, tokenizer, frame, 200, "ner.parquet")
    short = encode_tagging(rows, spec, tokenizer, frame, 12, "ner.parquet")
    truncated = 0
    for row, whole, cut, words in zip(rows, full, short, encode_words(tokenizer, [r["tokens"] for r in rows]),
                                      strict=True):
        kept = len(scored(cut))
        assert len(cut.ids) <= 12 and cut.words == whole.words == len(row["tokens"])
        assert scored(cut) == scored(whole)[:kept]
        assert cut.ids[1:-1] == [piece for word in words[:kept] for piece in word]
        truncated += kept < cut.words
        # Words cut off still get a prediction (CUT_OFF), so predictions align with the gold tags.
        assert word_predictions(torch.ones(len(cut.ids), dtype=torch.long), cut) == [1] * kept + [CUT_OFF] * (
            cut.words - kept)
    assert truncated > 0


def content_runs(example) -> list[list[int]]:
    """The pieces of each text in an example, from its content mask."""
    runs, previous = [], False
    for piece, keep in zip(example.ids, example.content, strict=True):
        if keep and not previous:
            runs.append([])
        if keep:
            runs[-1].append(piece)
        previous = keep
    return runs


def split_runs(runs: list[list[int]], frame, lengths: list[int], max_length: int) -> list[list[int]]:
    """The texts' pieces apart again where nothing separates a pair (mBART-50, NLLB): each half is
    cut to ``share`` pieces, or the first keeps its own length."""
    if len(runs) == len(lengths) or len(lengths) == 1:
        return runs
    share = (max_length - 2 - len(frame.separator())) // 2
    first = min(lengths[0], share)
    return [runs[0][:first], runs[0][first:]]


@pytest.mark.parametrize("architecture", ["mbart", "xlm-roberta", "bert"])
@pytest.mark.parametrize("task", ["nli", "topic"])
def test_classification_truncation(small_world: SmallWorld, tokenizer, architecture: str, task: str) -> None:
    spec = task_spec(task, small_world.world)
    frame = framing(tokenizer, architecture, LANGUAGES)
    rows = rows_of(small_world, task, "dev", *LANGUAGES)
    texts = [encode_texts(tokenizer, [text for text in (row["text_a"], row["text_b"]) if text is not None])
             for row in rows]
    assert {len(pieces) for pieces in texts} == ({2} if task == "nli" else {1})
    truncated = 0
    for max_length in (11, 200):
        examples = encode_classification(rows, spec, tokenizer, frame, max_length, "x.parquet")
        for row, example, pieces in zip(rows, examples, texts, strict=True):
            assert len(example.ids) <= max_length and example.label == spec.labels.index(row["label"])
            runs = split_runs(content_runs(example), frame, [len(text) for text in pieces], max_length)
            assert len(runs) == len(pieces) and all(run for run in runs)
            assert all(run == text[:len(run)] for run, text in zip(runs, pieces, strict=True))
            assert example.ids.count(frame.eos) == (1 if len(pieces) == 1 else len(frame.separator()) + 1)
            if max_length == 200:
                assert runs == pieces
            elif len(pieces) == 1:
                assert runs[0] == pieces[0][:max_length - 2]
            elif all(len(run) < len(text) for run, text in zip(runs, pieces, strict=True)):
                assert len(runs[0]) == len(runs[1])  # both halves cut evenly
            truncated += runs != pieces
    assert truncated > 0


@torch.no_grad()
def center_head(model: EncoderClassifier, examples, pad_id: int) -> None:
    """A random head centred on the examples' mean feature: an untrained encoder's features are
    nearly alike, and this makes the predicted classes vary."""
    batch = collate(examples, pad_id, model.token_level)
    states = model.encoder(input_ids=batch["input_ids"],
                           attention_mask=batch["attention_mask"]).last_hidden_state
    features = states[batch["content_mask"]] if model.token_level else masked_mean(states,
                                                                                   batch["content_mask"])
    model.classifier.weight.normal_()
    model.classifier.bias.copy_(-model.classifier.weight @ features.mean(dim=0))


@pytest.mark.parametrize(("architecture", "task"), [("mbart", "pos"), ("xlm-roberta", "topic")])
def test_predictions_do_not_depend_on_batching(small_world: SmallWorld, tokenizer, random_checkpoints: dict,
                                               architecture: str, task: str) -> None:
    spec = task_spec(task, small_world.world)
    frame = framing(tokenizer, architecture, LANGUAGES)
    rows = rows_of(small_world, task, "dev", *LANGUAGES)
    encode = encode_tagging if spec.kind == "tagging" else encode_classification
    examples = encode(rows, spec, tokenizer, frame, 48, "dev.parquet")
    assert len({len(example.ids) for example in examples}) > 3  # batches really differ in padding
    torch.manual_seed(0)
    model = EncoderClassifier(load_encoder(random_checkpoints[architecture]), len(spec.labels),
                              token_level=spec.kind == "tagging").eval()
    center_head(model, examples, frame.pad)
    reference = predict_indices(model, examples, frame.pad)
    assert not model.training and len(reference) == len(rows)
    flat = [value for item in reference for value in (item if isinstance(item, list) else [item])]
    assert len(set(flat)) > 1  # predictions vary, so equality below means something
    if spec.kind == "tagging":
        assert [len(item) for item in reference] == [len(row["tokens"]) for row in rows]
    for batch_size in (1, 3, 7):
        assert predict_indices(model, examples, frame.pad, batch_size) == reference
    assert predict_indices(model, examples[::-1], frame.pad, 5) == reference[::-1]


def task_definition(small_world: SmallWorld, task: str) -> dict:
    spec = task_spec(task, small_world.world)
    return {"name": spec.name, "kind": spec.kind, "metric": spec.metric, "labels": list(spec.labels)}


def finetune_and_predict(small_world: SmallWorld, tokenizer_dir: Path, checkpoint: Path, output: Path,
                         task: str, architecture: str) -> dict[str, Path]:
    arguments = dict(task=task_definition(small_world, task), languages=LANGUAGES,
                     spec={"architecture": architecture, "max_length": 48})
    finetuned = output / "finetuned"
    finetune(**arguments, settings=SETTINGS, checkpoint_dir=str(checkpoint),
             train_path=str(small_world.split(task, "train", "en")),
             dev_path=str(small_world.split(task, "dev", "en")), output_dir=str(finetuned), seed=SEED,
             threads=1, head={"model": "tiny", "objective": "random-init"})
    paths = {"finetuned": finetuned, "predictions": output / "predictions.parquet",
             "metrics": output / "metrics.json"}
    predict(**arguments, finetuned_dir=str(finetuned),
            test_path=str(small_world.split(task, "test", "close")),
            predictions_path=str(paths["predictions"]), metrics_path=str(paths["metrics"]),
            meta={"model": "tiny", "objective": "random-init", "task": task, "language": "close",
                  "pretraining_seed": 1, "seed": 1},
            threads=1)
    return paths


@pytest.mark.parametrize(("architecture", "task"), [("mbart", "ner"), ("xlm-roberta", "topic")])
def test_finetune_and_predict_end_to_end(small_world: SmallWorld, tokenizer_dir: Path,
                                         random_checkpoints: dict, tmp_path: Path, architecture: str,
                                         task: str) -> None:
    spec = task_spec(task, small_world.world)
    runs = [finetune_and_predict(small_world, tokenizer_dir, random_checkpoints[architecture],
                                 tmp_path / name, task, architecture) for name in ("a", "b")]
    first = runs[0]
    head = read_json(first["finetuned"] / HEAD_FILE)
    assert head["labels"] == list(spec.labels) and head["task"] == task and head["seed"] == SEED
    assert head["model"] == "tiny" and head["token_level"] == (spec.kind == "tagging")
    assert head["selected_step"] in (1, 2) and 0 <= head["dev_score"] <= 1 and head["tokens"] > 0

    table = pq.read_table(first["predictions"])
    assert table.schema.equals(predictions_schema(spec))
    test_rows = rows_of(small_world, task, "test", "close")
    predictions = table.to_pylist()
    assert [row["id"] for row in predictions] == [row["id"] for row in test_rows]
    gold_column = "tags" if spec.kind == "tagging" else "label"
    assert [row["gold"] for row in predictions] == [row[gold_column] for row in test_rows]
    predicted = [row["predicted"] for row in predictions]
    if spec.kind == "tagging":
        assert [len(tags) for tags in predicted] == [len(row["tokens"]) for row in test_rows]
        assert {tag for tags in predicted for tag in tags} <= set(spec.labels)
    else:
        assert set(predicted) <= set(spec.labels)

    score = evaluation.score(spec.metric, [row["gold"] for row in predictions], predicted)
    assert read_json(first["metrics"]) == {
        "model": "tiny", "objective": "random-init", "task": task, "language": "close",
        "pretraining_seed": 1, "seed": 1,
        "metric": spec.metric, "score": score, "examples": len(test_rows)}

    second = runs[1]  # the same seed again: the same bytes
    for name in ("predictions", "metrics"):
        assert first[name].read_bytes() == second[name].read_bytes()
    weights = [run["finetuned"] / WEIGHTS_FILE for run in runs]
    assert weights[0].read_bytes() == weights[1].read_bytes()


def test_predict_refuses_a_head_for_another_task(small_world: SmallWorld, tokenizer_dir: Path,
                                                 random_checkpoints: dict, tmp_path: Path) -> None:
    paths = finetune_and_predict(small_world, tokenizer_dir, random_checkpoints["mbart"], tmp_path, "pos",
                                 "mbart")
    with pytest.raises(ValueError, match="head labels .* differ from task ner's"):
        predict(task=task_definition(small_world, "ner"), languages=LANGUAGES,
                spec={"architecture": "mbart", "max_length": 48}, finetuned_dir=str(paths["finetuned"]),
                test_path=str(small_world.split("ner", "test", "close")),
                predictions_path=str(tmp_path / "x.parquet"), metrics_path=str(tmp_path / "x.json"),
                meta={}, threads=1)
    assert not (tmp_path / "x.parquet").exists()
