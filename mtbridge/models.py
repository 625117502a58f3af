"""Model families, their encoders, the fine-tuning heads, and checkpoints taken from the hub.

Four families, built from transformers classes: mBART-50 and NLLB (encoder-decoders), XLM-R and
mBERT (encoders). Fine-tuning goes through the encoder only, as in Ji et al. (2024): sequence
tasks pool the encoder output, token tasks classify each word's first piece. transformers has no
token-classification head for mBART, hence ``EncoderClassifier`` here, used for every family so
that heads are identical. Every model directory carries its tokenizer, so a job needs one folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model
from torch import nn
from transformers import (
    CONFIG_MAPPING,
    AutoConfig,
    BertForMaskedLM,
    BertModel,
    M2M100ForConditionalGeneration,
    MBartConfig,
    MBartForConditionalGeneration,
    PretrainedConfig,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
    XLMRobertaModel,
)
from transformers.models.m2m_100.modeling_m2m_100 import M2M100Encoder
from transformers.models.mbart.modeling_mbart import MBartEncoder
from transformers.utils import logging as hf_logging

from mtbridge import hub
from mtbridge.aliases import PathLike
from mtbridge.inputs import MODEL_TYPES, check_checkpoint  # MODEL_TYPES: config `architecture` -> model_type
from mtbridge.io import atomic_directory, read_json, write_json
from mtbridge.tokenizer import load_tokenizer

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

ARCHITECTURES = tuple(MODEL_TYPES)
PRETRAINING_CLASSES = {"mbart": MBartForConditionalGeneration, "xlm-roberta": XLMRobertaForMaskedLM,
                       "bert": BertForMaskedLM, "m2m_100": M2M100ForConditionalGeneration}
ENCODER_CLASSES = {"mbart": MBartEncoder, "xlm-roberta": XLMRobertaModel, "bert": BertModel,
                   "m2m_100": M2M100Encoder}
SEQ2SEQ_TYPES = ("mbart", "m2m_100")
HEAD_FILE = "head.json"
WEIGHTS_FILE = "model.safetensors"
TRAINING_FILE = "training.json"
# what a model snapshot needs: configs, safetensors or PyTorch weights, tokenizer files (no TF/Flax/Rust)
MODEL_FILES = ("*.json", "*.safetensors", "pytorch_model*.bin", "*.model", "*.txt", "tokenizer*")


def build_config(architecture: str, spec: dict, tokenizer) -> PretrainedConfig:
    """A transformers config for ``architecture`` with the sizes in ``spec`` (a `models` entry)."""
    special = dict(
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    if architecture == "mbart":
        # scale_embedding=False: mBART multiplies token embeddings by sqrt(d), which at
        # init drowns the position embeddings (~10x smaller at d=128); a model trained for
        # minutes then cannot learn word order (paraphrase stayed at chance, measured).
        return MBartConfig(
            d_model=spec["hidden_size"], encoder_layers=spec["layers"], decoder_layers=spec["layers"],
            encoder_attention_heads=spec["attention_heads"],
            decoder_attention_heads=spec["attention_heads"],
            encoder_ffn_dim=spec["ffn_size"], decoder_ffn_dim=spec["ffn_size"],
            max_position_embeddings=spec["max_length"], scale_embedding=False,
            decoder_start_token_id=tokenizer.eos_token_id,
            forced_eos_token_id=tokenizer.eos_token_id, **special,
        )
    if architecture == "xlm-roberta":
        return XLMRobertaConfig(
            hidden_size=spec["hidden_size"], num_hidden_layers=spec["layers"],
            num_attention_heads=spec["attention_heads"], intermediate_size=spec["ffn_size"],
            # RoBERTa positions start after the padding index
            max_position_embeddings=spec["max_length"] + tokenizer.pad_token_id + 1,
            type_vocab_size=1, **special,
        )
    raise ValueError(f"architecture {architecture!r} is not trained from scratch here; "
                     f"expected mbart or xlm-roberta")


def pretraining_model(config: PretrainedConfig) -> nn.Module:
    """The model with its pretraining head: seq2seq for mBART/NLLB, masked LM for XLM-R/mBERT."""
    return PRETRAINING_CLASSES[config.model_type](config)


def model_type(directory: PathLike) -> str:
    found = read_json(Path(directory) / "config.json")["model_type"]
    if found not in PRETRAINING_CLASSES:
        raise ValueError(f"{directory}: model_type {found!r} is not one of {list(PRETRAINING_CLASSES)}")
    return found


def load_pretrained(directory: PathLike) -> nn.Module:
    """Reload a checkpoint saved with ``save_pretrained`` (safetensors)."""
    return PRETRAINING_CLASSES[model_type(directory)].from_pretrained(str(directory))


def save_pretrained(model: nn.Module, directory: PathLike, info: dict, tokenizer) -> None:
    """Save weights (safetensors), the tokenizer and the training record, atomically."""
    with atomic_directory(directory) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(info, tmp / TRAINING_FILE)


def model_files(ref: dict) -> tuple[str, ...]:
    """What to download: PyTorch ``.bin`` weights only where a repository has no safetensors (many
    hold both, and the weights are the gigabytes)."""
    files = hub.repo_files(ref)
    if files is not None and any(name.endswith(".safetensors") for name in files):
        return tuple(pattern for pattern in MODEL_FILES if not pattern.endswith(".bin"))
    return MODEL_FILES


def fetch_checkpoint(*, ref: dict, key: str, architecture: str, output_dir: str,
                     trust_remote_code: bool = False, max_length: int | None = None) -> None:
    """Copy a pinned hub checkpoint (or a local one) into the pipeline as safetensors plus tokenizer.

    A checkpoint of another architecture than the config says, with truncated weights or positions
    shorter than ``max_length``, fails here in one line, before any compute.
    """
    folder = hub.snapshot(ref, key=key, allow_patterns=model_files(ref))
    try:
        check_checkpoint(folder, architecture, max_length)
    except ValueError as error:
        raise ValueError(f"config key {key}: {error}") from None
    expected = MODEL_TYPES[architecture]
    found = AutoConfig.from_pretrained(str(folder), trust_remote_code=trust_remote_code).model_type
    if found != expected:
        raise ValueError(f"config key {key}: {hub.describe(ref)} is a {found!r} checkpoint, but the "
                         f"family's architecture {architecture!r} expects {expected!r}")
    model = PRETRAINING_CLASSES[expected].from_pretrained(str(folder))
    tokenizer = load_tokenizer(folder, trust_remote_code=trust_remote_code)
    save_pretrained(model, output_dir, {"objective": "hub", **ref,
                                        "resolved_revision": hub.snapshot_revision(folder, ref)},
                    tokenizer)


def load_encoder(directory: PathLike) -> nn.Module:
    """The encoder of a pretraining checkpoint, without any head."""
    kind = model_type(directory)
    if kind in SEQ2SEQ_TYPES:
        return PRETRAINING_CLASSES[kind].from_pretrained(str(directory)).get_encoder()
    return ENCODER_CLASSES[kind].from_pretrained(str(directory), add_pooling_layer=False)


def empty_encoder(config: PretrainedConfig) -> nn.Module:
    """An encoder with the architecture of ``config`` (weights to be loaded)."""
    if config.model_type in SEQ2SEQ_TYPES:
        return ENCODER_CLASSES[config.model_type](config)
    return ENCODER_CLASSES[config.model_type](config, add_pooling_layer=False)


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``states`` over positions where ``mask`` is true."""
    weights = mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class EncoderClassifier(nn.Module):
    """A linear head over an encoder, for whole sequences (pooled) or for each token."""

    def __init__(self, encoder: nn.Module, num_labels: int, token_level: bool,
                 dropout: float = 0.1, pooling: str = "mean") -> None:
        super().__init__()
        if pooling not in ("mean", "first"):
            raise ValueError(f"pooling must be 'mean' or 'first', got {pooling!r}")
        self.encoder = encoder
        self.token_level = token_level
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(encoder.config.hidden_size, num_labels)

    def pool(self, states: torch.Tensor, content_mask: torch.Tensor) -> torch.Tensor:
        if self.pooling == "first":
            return states[:, 0]
        return masked_mean(states, content_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                content_mask: torch.Tensor, labels: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Logits (batch × labels, or batch × length × labels) and the loss if labels are given.

        Token labels of -100 (special tokens, non-initial pieces, padding) are ignored. Segment ids
        go to the encoder only when given (mBERT); the mBART/NLLB encoders take none.
        """
        segments = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              **segments).last_hidden_state
        features = states if self.token_level else self.pool(states, content_mask)
        logits = self.classifier(self.dropout(features))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100
            )
        return loss, logits


def save_classifier(model: EncoderClassifier, directory: PathLike, head: dict[str, Any],
                    tokenizer) -> None:
    """Save a fine-tuned classifier: safetensors weights, the encoder config, the tokenizer and the
    head description."""
    with atomic_directory(directory) as tmp:
        save_model(model, str(tmp / WEIGHTS_FILE))
        tokenizer.save_pretrained(tmp)
        model.encoder.config.to_json_file(str(tmp / "config.json"))
        write_json({**head, "token_level": model.token_level, "pooling": model.pooling},
                   tmp / HEAD_FILE)


def load_classifier(directory: PathLike) -> tuple[EncoderClassifier, dict[str, Any]]:
    """Rebuild a fine-tuned classifier from its directory (weights via safetensors only)."""
    directory = Path(directory)
    head = read_json(directory / HEAD_FILE)
    config_dict = read_json(directory / "config.json")
    config = CONFIG_MAPPING[config_dict["model_type"]].from_dict(config_dict)
    model = EncoderClassifier(empty_encoder(config), len(head["labels"]), head["token_level"],
                              pooling=head["pooling"])
    load_model(model, str(directory / WEIGHTS_FILE))
    model.eval()
    return model, head
