"""Model families: configs, the shared classification head, loss masking, pooling, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from transformers import MBartConfig, MBartForConditionalGeneration, XLMRobertaConfig, XLMRobertaForMaskedLM

from mtbridge.io import read_json
from mtbridge.models import (
    HEAD_FILE,
    WEIGHTS_FILE,
    EncoderClassifier,
    build_config,
    empty_encoder,
    load_classifier,
    load_encoder,
    load_pretrained,
    masked_mean,
    pretraining_model,
    save_classifier,
    save_pretrained,
)

ARCHITECTURES = ("mbart", "xlm-roberta")
LABELS = 5


def classifier(specs: dict, tokenizer, architecture: str, token_level: bool, **kwargs) -> EncoderClassifier:
    torch.manual_seed(0)
    encoder = empty_encoder(build_config(architecture, specs[architecture], tokenizer))
    return EncoderClassifier(encoder, LABELS, token_level, **kwargs).eval()


def inputs(tokenizer, lengths: tuple[int, ...] = (7, 4, 5)) -> dict[str, torch.Tensor]:
    """A right-padded batch: ``<s> pieces </s>`` with the pieces marked as content."""
    width = max(lengths)
    generator = torch.Generator().manual_seed(0)
    ids = torch.full((len(lengths), width), tokenizer.pad_token_id)
    content = torch.zeros(len(lengths), width, dtype=torch.bool)
    for row, length in enumerate(lengths):
        ids[row, 1:length - 1] = torch.randint(10, len(tokenizer), (length - 2,), generator=generator)
        ids[row, 0], ids[row, length - 1] = tokenizer.bos_token_id, tokenizer.eos_token_id
        content[row, 1:length - 1] = True
    return {"input_ids": ids, "attention_mask": (ids != tokenizer.pad_token_id).long(),
            "content_mask": content}


def test_mbart_config(specs: dict, tokenizer) -> None:
    config = build_config("mbart", specs["mbart"], tokenizer)
    assert isinstance(config, MBartConfig)
    assert (config.d_model, config.encoder_layers, config.decoder_layers) == (32, 1, 1)
    assert (config.encoder_attention_heads, config.encoder_ffn_dim, config.decoder_ffn_dim) == (2, 64, 64)
    assert config.vocab_size == len(tokenizer) and config.max_position_embeddings == 48
    assert (config.pad_token_id, config.bos_token_id, config.eos_token_id) == (
        tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id)
    assert config.decoder_start_token_id == tokenizer.eos_token_id


def test_xlmr_config(specs: dict, tokenizer) -> None:
    config = build_config("xlm-roberta", specs["xlm-roberta"], tokenizer)
    assert isinstance(config, XLMRobertaConfig)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads,
            config.intermediate_size) == (32, 1, 2, 64)
    assert config.vocab_size == len(tokenizer) and config.pad_token_id == tokenizer.pad_token_id
    assert config.max_position_embeddings == 48 + tokenizer.pad_token_id + 1


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_a_sequence_of_max_length_fits_the_positions(specs: dict, tokenizer, architecture: str) -> None:
    model = classifier(specs, tokenizer, architecture, token_level=True)
    batch = inputs(tokenizer, (specs[architecture]["max_length"],))
    assert model(**batch)[1].shape == (1, 48, LABELS)


def test_unknown_architecture(specs: dict, tokenizer) -> None:
    with pytest.raises(ValueError, match="architecture 'gpt' is not trained from scratch here"):
        build_config("gpt", specs["mbart"], tokenizer)
    encoder = empty_encoder(build_config("mbart", specs["mbart"], tokenizer))
    with pytest.raises(ValueError, match="pooling must be 'mean' or 'first'"):
        EncoderClassifier(encoder, LABELS, token_level=False, pooling="max")


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_output_shapes(specs: dict, tokenizer, architecture: str) -> None:
    batch = inputs(tokenizer)
    loss, logits = classifier(specs, tokenizer, architecture, token_level=False)(**batch)
    assert loss is None and logits.shape == (3, LABELS)
    loss, logits = classifier(specs, tokenizer, architecture, token_level=True)(
        **batch, labels=torch.zeros(3, 7, dtype=torch.long))
    assert logits.shape == (3, 7, LABELS) and loss.shape == () and torch.isfinite(loss)


def test_ignored_token_labels_do_not_count(specs: dict, tokenizer) -> None:
    model = classifier(specs, tokenizer, "mbart", token_level=True)
    batch = inputs(tokenizer)
    labels = torch.randint(0, LABELS, (3, 7), generator=torch.Generator().manual_seed(1))
    labels[~batch["content_mask"]] = -100
    loss, logits = model(**batch, labels=labels)
    kept = labels != -100
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(logits[kept], labels[kept]))
    # A different token at an ignored, padded position changes that position's logits only.
    changed = {**batch, "input_ids": batch["input_ids"].clone()}
    changed["input_ids"][1, -1] = 42
    changed_loss, changed_logits = model(**changed, labels=labels)
    assert not torch.allclose(changed_logits[1, -1], logits[1, -1])
    assert torch.allclose(changed_logits[kept], logits[kept], atol=1e-6)
    assert torch.allclose(changed_loss, loss, atol=1e-6)
    # With every label but one ignored, the loss is that one position's cross-entropy.
    single = torch.full_like(labels, -100)
    single[2, 3] = 4
    single_loss, single_logits = model(**batch, labels=single)
    assert torch.allclose(single_loss, -torch.log_softmax(single_logits[2, 3], dim=-1)[4])


def test_sequence_loss_is_mean_cross_entropy(specs: dict, tokenizer) -> None:
    labels = torch.tensor([0, 3, 1])
    loss, logits = classifier(specs, tokenizer, "xlm-roberta", token_level=False)(
        **inputs(tokenizer), labels=labels)
    expected = -torch.log_softmax(logits, dim=-1)[torch.arange(3), labels].mean()
    assert torch.allclose(loss, expected)


def test_masked_mean_by_hand() -> None:
    states = torch.arange(2 * 4 * 3, dtype=torch.float).reshape(2, 4, 3)
    mask = torch.tensor([[False, True, False, True], [False, False, False, False]])
    pooled = masked_mean(states, mask)
    assert torch.equal(pooled[0], (states[0, 1] + states[0, 3]) / 2)
    assert torch.equal(pooled[1], torch.zeros(3))  # nothing to average: zeros, not NaN


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_mean_pooling_uses_content_positions_only(specs: dict, tokenizer, architecture: str) -> None:
    model = classifier(specs, tokenizer, architecture, token_level=False)
    batch = inputs(tokenizer)
    logits = model(**batch)[1]
    states = model.encoder(input_ids=batch["input_ids"],
                           attention_mask=batch["attention_mask"]).last_hidden_state
    for row in range(3):
        content = batch["content_mask"][row]
        expected = model.classifier(states[row][content].mean(dim=0))
        assert torch.allclose(logits[row], expected, atol=1e-6)
        assert not torch.allclose(logits[row], model.classifier(states[row].mean(dim=0)), atol=1e-6)
    first = classifier(specs, tokenizer, architecture, token_level=False, pooling="first")
    assert torch.allclose(first(**batch)[1], first.classifier(states[:, 0]), atol=1e-6)


@pytest.mark.parametrize(("architecture", "token_level"), [("mbart", True), ("xlm-roberta", False)])
def test_classifier_round_trip(specs: dict, tokenizer, tmp_path: Path, architecture: str,
                               token_level: bool) -> None:
    model = classifier(specs, tokenizer, architecture, token_level, pooling="first")
    torch.nn.init.normal_(model.classifier.weight)
    save_classifier(model, tmp_path / "clf", {"labels": list("abcde"), "task": "demo"}, tokenizer)
    loaded, head = load_classifier(tmp_path / "clf")
    assert head == {"labels": list("abcde"), "task": "demo", "token_level": token_level,
                    "pooling": "first"}
    assert not loaded.training and loaded.token_level == token_level
    batch = inputs(tokenizer)
    assert torch.equal(loaded(**batch)[1], model(**batch)[1])
    assert sorted(path.name for path in (tmp_path / "clf").iterdir()) == sorted(
        ["config.json", HEAD_FILE, WEIGHTS_FILE, "tokenizer.json", "tokenizer_config.json"])
    with safe_open(str(tmp_path / "clf" / WEIGHTS_FILE), framework="pt") as weights:
        assert torch.equal(weights.get_tensor("classifier.weight"), model.classifier.weight)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_pretrained_round_trip(specs: dict, tokenizer, tmp_path: Path, architecture: str) -> None:
    torch.manual_seed(0)
    model = pretraining_model(build_config(architecture, specs[architecture], tokenizer)).eval()
    expected_class = MBartForConditionalGeneration if architecture == "mbart" else XLMRobertaForMaskedLM
    assert type(model) is expected_class
    save_pretrained(model, tmp_path / "ckpt", {"objective": "test", "steps": 0}, tokenizer)
    assert read_json(tmp_path / "ckpt" / "training.json") == {"objective": "test", "steps": 0}
    assert (tmp_path / "ckpt" / WEIGHTS_FILE).exists()
    assert not list((tmp_path / "ckpt").glob("*.bin"))
    loaded = load_pretrained(tmp_path / "ckpt")
    assert type(loaded) is expected_class
    original, reloaded = model.state_dict(), loaded.state_dict()
    assert original.keys() == reloaded.keys()
    assert all(torch.equal(original[key], reloaded[key]) for key in original)
    encoder = load_encoder(tmp_path / "ckpt").eval()
    assert not hasattr(encoder, "lm_head") and not hasattr(encoder, "decoder")
    batch = inputs(tokenizer)
    del batch["content_mask"]
    base = model.get_encoder() if architecture == "mbart" else model.roberta
    assert torch.equal(encoder(**batch).last_hidden_state, base(**batch).last_hidden_state)
