"""Singular-value spectra and their summaries against hand-computed values."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from torch import nn

from mtbridge import spectra as spectra_module
from mtbridge.spectra import (
    layer_index,
    module_type,
    ratio_to_source,
    singular_values,
    spectra,
    summarise,
    summary,
)


def test_summary_of_a_known_spectrum() -> None:
    values = [3.0, 2.0, 1.0]
    result = summarise(values, top_k=2)
    probabilities = [0.5, 1 / 3, 1 / 6]
    assert result["sigma_max"] == 3.0
    assert result["frobenius"] == pytest.approx(math.sqrt(14))
    assert result["stable_rank"] == pytest.approx(14 / 9)
    assert result["effective_rank"] == pytest.approx(math.exp(-sum(p * math.log(p) for p in probabilities)))
    assert result["top2_sum"] == 5.0


@pytest.mark.parametrize(("name", "kind", "layer"), [
    ("model.encoder.layers.1.self_attn.q_proj.weight", "attention.query", 1),
    ("model.decoder.layers.0.fc2.weight", "ffn.out", 0),
    ("roberta.encoder.layer.2.attention.output.dense.weight", "attention.output", 2),
    ("roberta.encoder.layer.0.output.dense.weight", "ffn.out", 0),
    ("roberta.encoder.layer.0.intermediate.dense.weight", "ffn.in", 0),
    ("model.shared.weight", "embedding", -1),
    ("lm_head.dense.weight", "head", -1),
    ("roberta.embeddings.word_embeddings.weight", "embedding", -1),
])
def test_parameter_names_map_to_module_types(name: str, kind: str, layer: int) -> None:
    assert module_type(name) == kind
    assert layer_index(name) == layer


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(7, 3)
        self.fc1 = nn.Linear(3, 5)
        self.tied = self.embed_tokens  # a tied weight must be listed once


def test_spectra_match_svd_and_list_each_matrix_once() -> None:
    torch.manual_seed(0)
    model = Tiny()
    table = spectra(model, model_name="m", objective="source")
    assert sorted(table["parameter"].unique()) == ["embed_tokens.weight", "fc1.weight"]
    assert len(table) == 3 + 3  # min(7, 3) + min(5, 3) singular values
    fc1 = table[table["parameter"] == "fc1.weight"]["singular_value"].tolist()
    expected = torch.linalg.svdvals(model.fc1.weight.detach().double()).tolist()
    assert fc1 == pytest.approx(expected, abs=1e-12)
    assert fc1 == sorted(fc1, reverse=True)
    assert table[table["parameter"] == "embed_tokens.weight"]["embedding"].all()


def test_ratio_to_source_is_two_for_doubled_weights() -> None:
    torch.manual_seed(0)
    source, variant = Tiny(), Tiny()
    variant.load_state_dict({key: 2 * value for key, value in source.state_dict().items()})
    both = [spectra(source, model_name="m", objective="source"),
            spectra(variant, model_name="m", objective="mt-m2o")]
    table = summary(pd.concat(both, ignore_index=True), top_k=2)
    ratios = ratio_to_source(table)
    assert set(ratios["objective"]) == {"mt-m2o"}
    assert ratios["sigma_max"].tolist() == pytest.approx([2.0, 2.0])
    assert ratios["stable_rank"].tolist() == pytest.approx([1.0, 1.0])


def known_matrix(rows: int, columns: int, values: list[float]) -> torch.Tensor:
    """U diag(values) V^T with random orthonormal U (rows x k) and V (columns x k): its singular values
    are exactly ``values`` (k = len(values) = min(rows, columns))."""
    generator = torch.Generator().manual_seed(1)
    u = torch.linalg.qr(torch.randn(rows, len(values), generator=generator, dtype=torch.float64)).Q
    v = torch.linalg.qr(torch.randn(columns, len(values), generator=generator, dtype=torch.float64)).Q
    return u @ torch.diag(torch.tensor(values, dtype=torch.float64)) @ v.T


@pytest.mark.parametrize(("rows", "columns"), [(5, 5), (4, 9), (9, 4), (70, 4), (4, 70)],
                         ids=["square", "wide", "tall", "very-tall", "very-wide"])
def test_singular_values_of_a_known_matrix(monkeypatch: pytest.MonkeyPatch, rows: int, columns: int) -> None:
    monkeypatch.setattr(spectra_module, "QR_BLOCK", 2)  # 70 x 4: R of 9 blocks of 8 rows, the last 6
    values = [9.0, 4.0, 1.5, 1e-3, 2e-6][:min(rows, columns)]
    found = singular_values(known_matrix(rows, columns, values)).tolist()
    assert found == pytest.approx(values, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("condition", [1.0, 10.0, 99.0])
def test_well_conditioned_tall_matrices_take_the_gram_route(monkeypatch: pytest.MonkeyPatch,
                                                            condition: float) -> None:
    def no_svd(*args: object, **kwargs: object) -> None:
        raise AssertionError("svdvals called for a well-conditioned tall matrix")

    # 200 x 8: the Gram matrix from 25 blocks of 8 rows
    values = torch.logspace(0, -math.log10(condition), 8).mul(7.0).tolist()
    weight = known_matrix(200, 8, values)
    monkeypatch.setattr(torch.linalg, "svdvals", no_svd)
    assert singular_values(weight).tolist() == pytest.approx(values, rel=1e-11)
    assert singular_values(weight.T).tolist() == pytest.approx(values, rel=1e-11)


def test_ill_conditioned_tall_matrices_fall_back_to_svd(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    svdvals = torch.linalg.svdvals
    monkeypatch.setattr(torch.linalg, "svdvals", lambda matrix: calls.append(matrix.shape) or svdvals(matrix))
    values = [7.0, 3.0, 0.5, 0.05]  # condition 140, over GRAM_MAX_CONDITION
    assert singular_values(known_matrix(200, 4, values)).tolist() == pytest.approx(values, rel=1e-13)
    assert calls == [(4, 4)]  # the R factor's
    assert singular_values(torch.zeros(30, 3)).tolist() == [0.0, 0.0, 0.0]


def test_singular_values_of_float32_weights_are_float64() -> None:
    weight = known_matrix(40, 3, [3.0, 2.0, 1.0]).float()
    found = singular_values(weight)
    assert found.dtype == torch.float64
    assert found.tolist() == pytest.approx(torch.linalg.svdvals(weight.double()).tolist(), rel=1e-13)
