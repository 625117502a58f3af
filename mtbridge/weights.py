"""The weight matrices a model's spectra are read from, in a module of their own: the spectral swap and
the spectra both list them, and an edit to how spectra are computed should not rerun the swaps."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def weight_matrices(model: nn.Module) -> Iterable[tuple[str, torch.Tensor]]:
    """Every 2-D weight, once (tied embeddings are listed under their first name)."""
    seen: set[int] = set()
    for name, parameter in model.named_parameters():
        if parameter.dim() == 2 and id(parameter) not in seen:
            seen.add(id(parameter))
            yield name, parameter.detach()
