"""Encoding with the families' real tokenizer classes: sentence pairs as each tokenizer frames them,
segment ids only where the model reads them, tagging words that encode to no pieces, and hub folders
that ship a SentencePiece model only."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
from paper_fixtures import (
    ARCHITECTURES,
    SENTENCES,
    build_model,
    build_tokenizer,
    fixture_texts,
    write_checkpoint,
)

from mtbridge import evaluation
from mtbridge.finetuning import (
    IGNORE,
    UNPREDICTED,
    collate,
    cut_off_tag,
    encode_classification,
    encode_tagging,
    gold_and_predicted,
    predict_indices,
    word_predictions,
)
from mtbridge.models import EncoderClassifier, fetch_checkpoint, load_encoder
from mtbridge.tasks import TaskSpec
from mtbridge.tokenizer import encode_texts, framing, language_code, language_codes, load_tokenizer

PAIR_TASK = TaskSpec("pawsx", "classification", "accuracy", ("0", "1"))
POS = TaskSpec("pos", "tagging", "accuracy", ("ADJ", "NOUN", "PUNCT", "X"))
NER = TaskSpec("ner", "tagging", "entity_f1", ("O", "B-PER", "I-PER"))
LANGUAGES = ("en", "de")
# characters mBERT's normaliser deletes: a word made of them alone encodes to nothing
ERASED = ("\u200b", "\u200e", "\xad")


@pytest.fixture(scope="module", params=ARCHITECTURES)
def family(request: pytest.FixtureRequest):
    return request.param, build_tokenizer(request.param, fixture_texts())


def pair_rows(language: str) -> list[dict]:
    texts = SENTENCES[language]
    return [{"language": language, "text_a": a, "text_b": b, "label": "1"}
            for a, b in zip(texts, texts[1:], strict=False)]


def own_encoding(tokenizer, architecture: str, language: str, text: str, pair: str | None) -> dict:
    """What the family's tokenizer itself gives, with its source language set to ``language``."""
    if architecture in ("mbart", "nllb"):
        tokenizer.src_lang = language_code(language, language_codes(tokenizer))
    return tokenizer(text, pair)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("paired", [True, False])
def test_encoding_matches_the_familys_own_tokenizer(family, language: str, paired: bool) -> None:
    architecture, tokenizer = family
    rows = [{**row, "text_b": row["text_b"] if paired else None} for row in pair_rows(language)]
    frame = framing(tokenizer, architecture, LANGUAGES)
    examples = encode_classification(rows, PAIR_TASK, tokenizer, frame, 64, "pairs.parquet")
    for row, example in zip(rows, examples, strict=True):
        own = own_encoding(tokenizer, architecture, language, row["text_a"], row["text_b"])
        assert example.ids == own["input_ids"]
        assert example.segments == own.get("token_type_ids")
        assert (example.segments is not None) == (architecture == "bert")
    if architecture == "bert" and paired:
        assert all(set(example.segments) == {0, 1} for example in examples)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {name: write_checkpoint(name, root / name) for name in ARCHITECTURES}


def test_segment_ids_reach_the_encoder_of_mbert_only(family, checkpoints: dict[str, Path]) -> None:
    architecture, tokenizer = family
    frame = framing(tokenizer, architecture, LANGUAGES)
    examples = encode_classification(pair_rows("en"), PAIR_TASK, tokenizer, frame, 64, "pairs.parquet")
    batch = collate(examples, frame.pad, token_level=False)
    assert ("token_type_ids" in batch) == (architecture == "bert")
    model = EncoderClassifier(load_encoder(checkpoints[architecture]), 2, token_level=False).eval()
    seen = []
    model.encoder.register_forward_pre_hook(lambda _, args, kwargs: seen.append(kwargs.get("token_type_ids")),
                                            with_kwargs=True)
    predict_indices(model, examples, frame.pad, batch_size=2)
    model(**batch)
    assert seen and all((given is not None) == (architecture == "bert") for given in seen)
    if architecture == "bert":  # segment 1 has its own embedding: ignoring it would change the output
        with torch.no_grad():
            ignored = model(batch["input_ids"], batch["attention_mask"], batch["content_mask"])[1]
            assert not torch.allclose(ignored, model(**{**batch, "labels": None})[1])


def tagging_rows() -> list[dict]:
    tokens = ["Peter", *ERASED[:2], "visits", "Berlin", ERASED[2], "."]
    return [{"language": "en", "tokens": tokens, "tags": ["NOUN", "X", "X", "NOUN", "NOUN", "X", "PUNCT"]},
            {"language": "en", "tokens": ["The", "cat", "."], "tags": ["ADJ", "NOUN", "PUNCT"]}]


def test_words_without_pieces_keep_their_labels_aligned(checkpoints: dict[str, Path]) -> None:
    tokenizer = build_tokenizer("bert", fixture_texts())
    assert all(tokenizer(word, add_special_tokens=False)["input_ids"] == [] for word in ERASED)
    frame = framing(tokenizer, "bert", LANGUAGES)
    rows = tagging_rows()
    examples = encode_tagging(rows, POS, tokenizer, frame, 64, "pos.parquet")
    for row, example in zip(rows, examples, strict=True):
        assert len(example.label) == len(example.ids) == len(example.segments)
        positions = [index for index, label in enumerate(example.label) if label != IGNORE]
        assert [POS.labels[example.label[index]] for index in positions] == row["tags"]
        erased = [index for index, word in zip(positions, row["tokens"], strict=True) if word in ERASED]
        assert all(example.ids[index] == tokenizer.unk_token_id for index in erased)
    model = EncoderClassifier(load_encoder(checkpoints["bert"]), len(POS.labels), token_level=True)
    loss, _ = model(**collate(examples, frame.pad, token_level=True))  # trains without a shape error
    assert torch.isfinite(loss)
    predicted = predict_indices(model, examples, frame.pad)
    assert [len(tags) for tags in predicted] == [len(row["tokens"]) for row in rows]


@pytest.mark.parametrize(("spec", "expected"), [(NER, "O"), (POS, UNPREDICTED)])
def test_words_cut_off_are_outside_or_wrong(spec: TaskSpec, expected: str) -> None:
    tokenizer = build_tokenizer("xlm-roberta", fixture_texts())
    frame = framing(tokenizer, "xlm-roberta", LANGUAGES)
    rows = [{"language": "en", "tokens": ["Peter", "visits", "Berlin", "."],
             "tags": [spec.labels[1]] * 3 + [spec.labels[0]]}]
    example = encode_tagging(rows, spec, tokenizer, frame, 4, "cut.parquet")[0]
    kept = word_predictions(torch.ones(len(example.ids), dtype=torch.long), example)
    assert len(kept) == 4 and kept[:2] == [1, 1]
    gold, predicted = gold_and_predicted(rows, spec, [kept])
    assert cut_off_tag(spec) == expected and predicted[0][2:] == [expected, expected]
    if spec is POS:  # XGLUE's per-word accuracy: the two cut-off words are errors, even the PUNCT one
        assert evaluation.score("accuracy", gold, predicted) == pytest.approx(0.5)
        assert UNPREDICTED not in spec.labels


# --- hub folders with a SentencePiece model and no tokenizer.json --------------------------------

# per family: its SentencePiece model type and the files of its hub repository besides the model
SENTENCEPIECE_REPOS = {
    "xlm-roberta": ("unigram", {"config.json": {"model_type": "xlm-roberta"}}),
    "mbart": ("unigram", {"config.json": {"model_type": "mbart"},
                          "tokenizer_config.json": {"tokenizer_class": "MBart50Tokenizer"}}),
    "nllb": ("bpe", {"config.json": {"model_type": "m2m_100"},
                     "tokenizer_config.json": {"tokenizer_class": "NllbTokenizer"}}),
}


def write_sentencepiece_repo(architecture: str, directory: Path) -> bytes:
    """A SentencePiece model trained on the fixture text (fairseq's ids: <unk> 0, <s> 1, </s> 2),
    saved as ``sentencepiece.bpe.model`` beside the repository's other tokenizer files."""
    import sentencepiece

    model_type, files = SENTENCEPIECE_REPOS[architecture]
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(fixture_texts()), model_writer=model, model_type=model_type, vocab_size=200,
        hard_vocab_limit=False, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, character_coverage=1.0,
        minloglevel=2, num_threads=1)
    directory.mkdir(parents=True)
    (directory / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    for name, content in files.items():
        (directory / name).write_text(json.dumps(content))
    return model.getvalue()


@pytest.mark.parametrize("architecture", ["xlm-roberta", "mbart"])
def test_a_sentencepiece_only_tokenizer_loads_and_fetches(architecture: str, tmp_path: Path) -> None:
    import sentencepiece

    repo = tmp_path / "repo"
    processor = sentencepiece.SentencePieceProcessor(model_proto=write_sentencepiece_repo(architecture, repo))
    tokenizer = load_tokenizer(repo)
    assert tokenizer.is_fast and not (repo / "tokenizer.json").exists()
    texts = [text for language in LANGUAGES for text in SENTENCES[language]]
    assert [tokenizer.convert_ids_to_tokens(ids) for ids in encode_texts(tokenizer, texts)] == [
        processor.encode(text, out_type=str) for text in texts]
    frame = framing(tokenizer, architecture, LANGUAGES)
    example = encode_classification(pair_rows("de"), PAIR_TASK, tokenizer, frame, 64, "pairs.parquet")[0]
    row = pair_rows("de")[0]
    own = own_encoding(tokenizer, architecture, "de", row["text_a"], row["text_b"])
    assert example.ids == own["input_ids"]
    # the pipeline's fetch: weights plus the converted tokenizer, which then loads from its tokenizer.json
    build_model(architecture, tokenizer).save_pretrained(repo)
    fetch_checkpoint(ref={"path": str(repo)}, key="models.x.hub.source", architecture=architecture,
                     output_dir=str(tmp_path / "fetched"))
    fetched = load_tokenizer(tmp_path / "fetched")
    assert (tmp_path / "fetched" / "tokenizer.json").exists()
    assert encode_texts(fetched, texts) == encode_texts(tokenizer, texts)
    assert fetched.convert_tokens_to_ids(language_codes(tokenizer)) == tokenizer.convert_tokens_to_ids(
        language_codes(tokenizer))


def test_a_sentencepiece_conversion_with_shifted_ids_is_refused(tmp_path: Path) -> None:
    """transformers 5 converts NLLB's SentencePiece model without its 202 language codes (or, given them,
    after <mask>): every code would read another embedding row, so the loader refuses, in one line."""
    write_sentencepiece_repo("nllb", tmp_path / "repo")
    with pytest.raises(ValueError, match="differ from the checkpoint's SentencePiece layout") as error:
        load_tokenizer(tmp_path / "repo")
    assert "\n" not in str(error.value)


def test_converting_names_the_missing_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    write_sentencepiece_repo("xlm-roberta", tmp_path / "repo")
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "google.protobuf" else find_spec(name, *args))
    with pytest.raises(ImportError, match="sentencepiece.bpe.model needs the packages protobuf"):
        load_tokenizer(tmp_path / "repo")
