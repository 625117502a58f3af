"""Model families, their encoders, and the fine-tuning heads.

Two families, built from transformers configs: an mBART-architecture encoder-decoder
and an XLM-R-architecture encoder. Fine-tuning goes through the encoder only, as in
Ji et al. (2024): sequence tasks pool the encoder output, token tasks classify each
word's first piece. transformers has no token-classification head for mBART, hence
``EncoderClassifier`` here, used for both families so that heads are identical.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model
from torch import nn
from transformers import (
    MBartConfig,
    MBartForConditionalGeneration,
    PretrainedConfig,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
    XLMRobertaModel,
)
from transformers.models.mbart.modeling_mbart import MBartEncoder
from transformers.utils import logging as hf_logging

from mtbridge.io import atomic_directory, read_json, write_json

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

ARCHITECTURES = ("mbart", "xlm-roberta")
HEAD_FILE = "head.json"
WEIGHTS_FILE = "model.safetensors"


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
    raise ValueError(f"unknown architecture {architecture!r}; expected one of {ARCHITECTURES}")


def pretraining_model(config: PretrainedConfig) -> nn.Module:
    """The model with its pretraining head: denoising seq2seq for mBART, masked LM for XLM-R."""
    if config.model_type == "mbart":
        return MBartForConditionalGeneration(config)
    return XLMRobertaForMaskedLM(config)


def load_pretrained(directory: str | os.PathLike) -> nn.Module:
    """Reload a checkpoint saved with ``save_pretrained`` (safetensors)."""
    model_type = read_json(Path(directory) / "config.json")["model_type"]
    cls = MBartForConditionalGeneration if model_type == "mbart" else XLMRobertaForMaskedLM
    return cls.from_pretrained(str(directory))


def save_pretrained(model: nn.Module, directory: str | os.PathLike, info: dict) -> None:
    """Save weights (safetensors) and the training record, atomically."""
    with atomic_directory(directory) as tmp:
        model.save_pretrained(tmp)
        write_json(info, tmp / "training.json")


def load_encoder(directory: str | os.PathLike) -> nn.Module:
    """The encoder of a pretraining checkpoint, without any head."""
    model_type = read_json(Path(directory) / "config.json")["model_type"]
    if model_type == "mbart":
        return MBartForConditionalGeneration.from_pretrained(str(directory)).get_encoder()
    return XLMRobertaModel.from_pretrained(str(directory), add_pooling_layer=False)


def empty_encoder(config: PretrainedConfig) -> nn.Module:
    """An encoder with the architecture of ``config`` (weights to be loaded)."""
    if config.model_type == "mbart":
        return MBartEncoder(config)
    return XLMRobertaModel(config, add_pooling_layer=False)


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
                content_mask: torch.Tensor, labels: torch.Tensor | None = None
                ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Logits (batch × labels, or batch × length × labels) and the loss if labels are given.

        Token labels of -100 (special tokens, non-initial pieces, padding) are ignored.
        """
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        features = states if self.token_level else self.pool(states, content_mask)
        logits = self.classifier(self.dropout(features))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100
            )
        return loss, logits


def save_classifier(model: EncoderClassifier, directory: str | os.PathLike, head: dict[str, Any]) -> None:
    """Save a fine-tuned classifier: safetensors weights, the encoder config, and the head description."""
    with atomic_directory(directory) as tmp:
        save_model(model, str(tmp / WEIGHTS_FILE))
        model.encoder.config.to_json_file(str(tmp / "config.json"))
        write_json({**head, "token_level": model.token_level, "pooling": model.pooling},
                   tmp / HEAD_FILE)


def load_classifier(directory: str | os.PathLike) -> tuple[EncoderClassifier, dict[str, Any]]:
    """Rebuild a fine-tuned classifier from its directory (weights via safetensors only)."""
    directory = Path(directory)
    head = read_json(directory / HEAD_FILE)
    config_dict = read_json(directory / "config.json")
    config_cls = MBartConfig if config_dict["model_type"] == "mbart" else XLMRobertaConfig
    config = config_cls.from_dict(config_dict)
    model = EncoderClassifier(empty_encoder(config), len(head["labels"]), head["token_level"],
                              pooling=head["pooling"])
    load_model(model, str(directory / WEIGHTS_FILE))
    model.eval()
    return model, head
