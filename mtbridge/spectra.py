"""Singular-value spectra of weight matrices, the paper's "output separability" evidence.

Ji et al. (2024) find that MT continued pretraining raises singular values. Spectra
are computed in float64 with ``torch.linalg.svdvals`` for every 2-D weight; summaries
are the usual size measures of a matrix: largest singular value, Frobenius norm,
stable rank ‖W‖²_F / σ²_max, effective rank exp(H(σ / Σσ)) (Roy & Vetterli 2007), and
the sum of the top-k values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd
import torch
from torch import nn

LAYER = re.compile(r"layers?\.(\d+)\.")
MODULE_TYPES = (
    ("q_proj", "attention.query"), ("query", "attention.query"),
    ("k_proj", "attention.key"), ("key", "attention.key"),
    ("v_proj", "attention.value"), ("value", "attention.value"),
    ("out_proj", "attention.output"), ("attention.output.dense", "attention.output"),
    ("fc1", "ffn.in"), ("intermediate.dense", "ffn.in"),
    ("fc2", "ffn.out"), ("output.dense", "ffn.out"),
    ("embed", "embedding"), ("model.shared", "embedding"),
    ("lm_head.decoder", "embedding"),  # XLM-R's output projection, tied to the word embeddings
    ("lm_head", "head"),
)


def module_type(name: str) -> str:
    """The role of a parameter, comparable across mBART and XLM-R naming."""
    for marker, kind in MODULE_TYPES:
        if marker in name:
            return kind
    return "other"


def layer_index(name: str) -> int:
    """The layer a parameter belongs to; -1 for embeddings and heads."""
    match = LAYER.search(name)
    return int(match.group(1)) if match else -1


def weight_matrices(model: nn.Module) -> Iterable[tuple[str, torch.Tensor]]:
    """Every 2-D weight, once (tied embeddings are listed under their first name)."""
    seen: set[int] = set()
    for name, parameter in model.named_parameters():
        if parameter.dim() == 2 and id(parameter) not in seen:
            seen.add(id(parameter))
            yield name, parameter.detach()


def spectra(model: nn.Module, *, model_name: str, objective: str) -> pd.DataFrame:
    """One row per singular value: model, objective, parameter, layer, module type, rank, value."""
    rows = []
    for name, weight in weight_matrices(model):
        values = torch.linalg.svdvals(weight.to(torch.float64)).tolist()
        kind = module_type(name)
        rows += [{"model": model_name, "objective": objective, "parameter": name,
                  "layer": layer_index(name), "module_type": kind, "embedding": kind == "embedding",
                  "rank": rank, "singular_value": value} for rank, value in enumerate(values)]
    return pd.DataFrame(rows)


def effective_rank(values: list[float]) -> float:
    """exp of the entropy of the normalised singular values (Roy & Vetterli 2007)."""
    total = sum(values)
    probabilities = [value / total for value in values if value > 0]
    return math.exp(-sum(p * math.log(p) for p in probabilities))


def summarise(values: list[float], top_k: int) -> dict[str, float]:
    """Size measures of one matrix from its singular values (sorted, largest first)."""
    frobenius_squared = sum(value * value for value in values)
    return {
        "sigma_max": values[0],
        "frobenius": math.sqrt(frobenius_squared),
        "stable_rank": frobenius_squared / values[0] ** 2,
        "effective_rank": effective_rank(values),
        f"top{top_k}_sum": sum(values[:top_k]),
    }


def summary(table: pd.DataFrame, top_k: int = 10) -> pd.DataFrame:
    """Per matrix summaries (one row per model × objective × parameter)."""
    keys = ["model", "objective", "parameter", "layer", "module_type", "embedding"]
    records = []
    for key, group in table.sort_values(keys + ["rank"]).groupby(keys, sort=False):
        records.append({**dict(zip(keys, key, strict=True)),
                        **summarise(group["singular_value"].tolist(), top_k)})
    return pd.DataFrame(records)


def ratio_to_source(per_matrix: pd.DataFrame, source: str = "source") -> pd.DataFrame:
    """Each variant's measures divided by its source model's, matrix by matrix."""
    measures = [column for column in per_matrix.columns if column not in
                ("model", "objective", "parameter", "layer", "module_type", "embedding")]
    base = per_matrix[per_matrix["objective"] == source].set_index(["model", "parameter"])[measures]
    variants = per_matrix[per_matrix["objective"] != source].set_index(["model", "parameter"])
    ratios = variants[measures] / base.reindex(variants.index)
    return variants.drop(columns=measures).join(ratios).reset_index()
