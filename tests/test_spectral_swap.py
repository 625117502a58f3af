"""The spectral ablation (issue #15, part 3) and the spectra ratios with intervals, against known answers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SEED
from safetensors.torch import load_file
from torch import nn

from mtbridge.io import read_json
from mtbridge.models import WEIGHTS_FILE, load_pretrained
from mtbridge.objectives import spectral_swap_objective
from mtbridge.pretraining import random_init
from mtbridge.spectra import ratio_intervals, spectra, summary, write_spectra_ratio_table
from mtbridge.spectral_swap import swap_model, swap_spectrum, write_spectral_swap, write_spectral_swaps
from mtbridge.weights import weight_matrices

STUDY = {"name": "toy", "config_hash": "0123456789ab"}


def random_matrix(seed: int, rows: int = 7, columns: int = 5) -> torch.Tensor:
    return torch.randn(rows, columns, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_a_swap_with_itself_reproduces_the_matrix() -> None:
    for shape in ((7, 5), (5, 7), (6, 6)):
        weight = random_matrix(0, *shape)
        assert torch.allclose(swap_spectrum(weight, weight), weight, rtol=0, atol=1e-13)


def test_a_swap_keeps_every_singular_vector_and_takes_the_other_spectrum() -> None:
    a, b = random_matrix(1), 3 * random_matrix(2)
    swapped = swap_spectrum(a, b)
    u_a, _, vh_a = torch.linalg.svd(a, full_matrices=False)
    u, sigma, vh = torch.linalg.svd(swapped, full_matrices=False)
    assert torch.allclose(sigma, torch.linalg.svdvals(b), rtol=0, atol=1e-12)
    # the same vectors, up to a sign each: |cosine| = 1 between matching columns (rows of Vᵀ)
    assert torch.allclose((u_a * u).sum(dim=0).abs(), torch.ones(5, dtype=torch.float64), atol=1e-12)
    assert torch.allclose((vh_a * vh).sum(dim=1).abs(), torch.ones(5, dtype=torch.float64), atol=1e-12)


def test_a_swap_refuses_matrices_of_different_shapes() -> None:
    with pytest.raises(ValueError, match=r"two matrices of one shape, got \(7, 5\) and \(5, 7\)"):
        swap_spectrum(random_matrix(0), random_matrix(0, 5, 7))
    small, large = nn.Linear(3, 4), nn.Linear(3, 5)
    with pytest.raises(ValueError, match=r"matrix weight \(4, 3\): in the values model shape \(5, 3\)"):
        swap_model(small, large)


@pytest.fixture(scope="module")
def second_checkpoints(tmp_path_factory: pytest.TempPathFactory, tokenizer_dir: Path,
                       specs: dict) -> dict[str, Path]:
    """A second untrained checkpoint of each architecture, other weights than random_checkpoints'."""
    root = tmp_path_factory.mktemp("second")
    for architecture, spec in specs.items():
        random_init(spec=spec, tokenizer_dir=str(tokenizer_dir), output_dir=str(root / architecture),
                    seed=SEED + 1, threads=1)
    return {architecture: root / architecture for architecture in specs}


@pytest.mark.parametrize("architecture", ["mbart", "xlm-roberta"])
def test_a_checkpoint_swapped_with_itself_is_itself(random_checkpoints: dict, tmp_path: Path,
                                                    architecture: str) -> None:
    folder = random_checkpoints[architecture]
    write_spectral_swap(vectors_dir=folder, values_dir=folder, output_dir=tmp_path / "same", objective="x")
    before, after = load_file(folder / WEIGHTS_FILE), load_file(tmp_path / "same" / WEIGHTS_FILE)
    assert before.keys() == after.keys()
    for name, tensor in before.items():
        assert after[name].dtype == tensor.dtype
        torch.testing.assert_close(after[name], tensor, rtol=1e-6, atol=1e-7, msg=name)


@pytest.mark.parametrize("architecture", ["mbart", "xlm-roberta"])
def test_a_derived_checkpoint_has_the_vectors_of_one_and_the_values_of_the_other(
        random_checkpoints: dict, second_checkpoints: dict, tmp_path: Path, architecture: str) -> None:
    vectors, values = random_checkpoints[architecture], second_checkpoints[architecture]
    spectrum, swapped_vectors = tmp_path / "spectrum", tmp_path / "vectors"
    write_spectral_swaps(continued_dir=vectors, source_dir=values, continued_objective="mt-m2o",
                         spectrum_dir=spectrum, vectors_dir=swapped_vectors)
    derived = dict(weight_matrices(load_pretrained(spectrum)))
    of_vectors = dict(weight_matrices(load_pretrained(vectors)))
    of_values = dict(weight_matrices(load_pretrained(values)))
    assert derived.keys() == of_vectors.keys() and derived
    for name, weight in derived.items():
        torch.testing.assert_close(torch.linalg.svdvals(weight.double()),
                                   torch.linalg.svdvals(of_values[name].double()), rtol=1e-5, atol=1e-6)
        u_a = torch.linalg.svd(of_vectors[name].double(), full_matrices=False)[0]
        u = torch.linalg.svd(weight.double(), full_matrices=False)[0]
        assert torch.allclose((u_a * u).sum(dim=0).abs(), torch.ones(u.shape[1], dtype=torch.float64),
                              atol=1e-4), name
    matrices = set(derived)
    vector_state = load_pretrained(vectors).state_dict()
    derived_state = load_pretrained(spectrum).state_dict()
    untouched = [key for key, tensor in vector_state.items()
                 if tensor.dim() != 2 and key not in matrices]
    assert untouched and all(torch.equal(vector_state[key], derived_state[key]) for key in untouched)
    for path in vectors.iterdir():  # tokenizer files as they were
        if path.name.startswith("tokenizer") or path.name == "special_tokens_map.json":
            assert (spectrum / path.name).read_bytes() == path.read_bytes()
    record = read_json(spectrum / "training.json")
    assert record["objective"] == "mt-m2o+source-spectrum" and record["matrices"] == len(matrices)
    assert read_json(swapped_vectors / "training.json")["objective"] == "mt-m2o+source-vectors"


def test_a_swap_refuses_another_architecture(random_checkpoints: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"are not the same architecture \(.*model_type: 'mbart' vs "
                                         r"'xlm-roberta'"):
        write_spectral_swap(vectors_dir=random_checkpoints["mbart"],
                            values_dir=random_checkpoints["xlm-roberta"], output_dir=tmp_path / "out",
                            objective="x")
    assert not (tmp_path / "out").exists()


def test_derived_objective_names() -> None:
    assert spectral_swap_objective("mt-m2o", "source-spectrum") == "mt-m2o+source-spectrum"
    assert spectral_swap_objective("tlm-cp", "source-vectors") == "tlm-cp+source-vectors"
    with pytest.raises(ValueError, match="not a continued objective"):
        spectral_swap_objective("source", "source-spectrum")
    with pytest.raises(ValueError, match="spectral swap must be one of"):
        spectral_swap_objective("mt-m2o", "values")


# --- ratios to source with an interval over matrices -------------------------------------------------


def per_matrix(ratios: dict[str, float]) -> pd.DataFrame:
    """Summaries of one-value spectra: source σ = 1 per matrix, the variant σ = the given ratio."""
    rows = []
    for objective in ("source", "mt-m2o"):
        for parameter, ratio in ratios.items():
            rows.append({"model": "m", "objective": objective, "pretraining_seed": 1, "parameter": parameter,
                         "stack": "encoder", "layer": 0, "module_type": "ffn.in", "embedding": False,
                         "sigma_max": ratio if objective != "source" else 1.0, "stable_rank": 1.0})
    return pd.DataFrame(rows)


def test_ratio_intervals_are_geometric_means_with_a_bootstrap_over_matrices() -> None:
    table = ratio_intervals(per_matrix({"a": 1.0, "b": 2.0, "c": 4.0}))
    sigma = table[table["measure"] == "sigma_max"].iloc[0]
    assert sigma["ratio"] == pytest.approx(2.0) and sigma["matrices"] == 3
    assert 1.0 <= sigma["ci_low"] < 2.0 < sigma["ci_high"] <= 4.0
    stable = table[table["measure"] == "stable_rank"].iloc[0]
    assert (stable["ratio"], stable["ci_low"], stable["ci_high"]) == pytest.approx((1.0, 1.0, 1.0))
    single = ratio_intervals(per_matrix({"a": 3.0}))
    assert single["ratio"].iloc[0] == pytest.approx(3.0) and math.isnan(single["ci_low"].iloc[0])
    assert list(ratio_intervals(per_matrix({"a": 3.0}), by=("module_type",)).columns) == [
        "model", "objective", "module_type", "measure", "ratio", "ci_low", "ci_high", "matrices"]


def test_the_ratio_table_of_doubled_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 4))
    variant = nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 4))
    variant.load_state_dict({key: 2 * value for key, value in source.state_dict().items()})
    paths = []
    for objective, model in (("source", source), ("mt-m2o", variant)):
        paths.append(tmp_path / f"{objective}.parquet")
        spectra(model, model_name="m", objective=objective).to_parquet(paths[-1])
    write_spectra_ratio_table(paths=paths, csv_path=tmp_path / "r.csv", markdown_path=tmp_path / "r.md",
                              study=STUDY)
    frame = pd.read_csv(tmp_path / "r.csv")
    assert set(frame["objective"]) == {"mt-m2o"}
    ratios = frame.set_index("measure")["ratio"].groupby(level=0).mean()
    assert ratios["sigma_max"] == pytest.approx(2.0) and ratios["stable_rank"] == pytest.approx(1.0)
    text = (tmp_path / "r.md").read_text()
    assert "Study `toy`" in text and "2.000 [2.000, 2.000]" in text
    assert np.isfinite(summary(pd.concat(map(pd.read_parquet, paths)))["sigma_max"]).all()
