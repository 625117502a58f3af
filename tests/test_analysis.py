"""CKA jobs over dumps, the spectra job, and the analysis tables and figures built from them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from mtbridge import analysis, figures
from mtbridge.representations import write_dump
from mtbridge.similarity import linear_cka
from mtbridge.spectra import spectra

LANGUAGES = ("en", "close", "far")
IDS = [f"s{i}" for i in range(30)]
LAYERS = ("embeddings", "layer_1", "layer_2")
STUDY = {"name": "toy", "config_hash": "0123456789ab"}
CAPTION = "Study `toy` (config 0123456789ab)."


def fake_layers(seed: int, noise: float) -> dict[str, torch.Tensor]:
    """Layers that share a base (seed 0) plus ``noise`` of their own, so CKA falls with noise."""
    base = torch.Generator().manual_seed(0)
    own = torch.Generator().manual_seed(seed)
    return {name: torch.randn(len(IDS), 8, generator=base) + noise * torch.randn(len(IDS), 8, generator=own)
            for name in LAYERS}


def write_fake(path: Path, seed: int, noise: float, ids: list[str] = IDS, pooling: str = "mean") -> Path:
    write_dump(fake_layers(seed, noise), ids, {"pooling": pooling, "precision": "float64"}, path)
    return path


@pytest.fixture
def language_dumps(tmp_path: Path) -> dict[str, Path]:
    return {language: write_fake(tmp_path / f"{language}.safetensors", seed, noise)
            for seed, (language, noise) in enumerate(zip(LANGUAGES, (0.0, 0.5, 2.0), strict=True), 1)}


@pytest.mark.parametrize("estimator", ["biased", "debiased"])
def test_cka_across_languages_gives_every_pair_at_every_layer(tmp_path: Path, language_dumps: dict,
                                                             estimator: str) -> None:
    output = tmp_path / "cka.parquet"
    analysis.cka_across_languages(dump_paths=language_dumps, output_path=output, estimator=estimator,
                                  model="m", objective="source")
    frame = pd.read_parquet(output)
    assert list(frame.columns) == analysis.LANGUAGE_COLUMNS
    assert len(frame) == len(LAYERS) * 3
    assert set(frame["estimator"]) == {estimator} and set(frame["sentences"]) == {len(IDS)}
    stored = {language: fake_layers(seed, noise) for seed, (language, noise)
              in enumerate(zip(LANGUAGES, (0.0, 0.5, 2.0), strict=True), 1)}
    for row in frame.itertuples():
        x = stored[row.language_a][row.layer].half().numpy()
        y = stored[row.language_b][row.layer].half().numpy()
        assert row.cka == pytest.approx(linear_cka(x, y, debiased=estimator == "debiased"), abs=1e-12)
    first = frame[frame["layer"] == "layer_1"].set_index(["language_a", "language_b"])["cka"]
    assert list(first.index) == [("en", "close"), ("en", "far"), ("close", "far")]
    assert first[("en", "close")] > first[("en", "far")]  # more own noise, less similar


def test_the_shuffled_null_shows_what_no_alignment_reads_as(tmp_path: Path) -> None:
    """Identical dumps: CKA 1, while the null (same vectors, another sentence order) is near 0 debiased
    and inflated biased, when sentences (30) are not far above the width (8)."""
    same = {language: write_fake(tmp_path / f"{language}.safetensors", 1, 0.0) for language in ("en", "x")}
    nulls = {}
    for estimator in ("biased", "debiased"):
        output = tmp_path / f"{estimator}.parquet"
        analysis.cka_across_languages(dump_paths=same, output_path=output, estimator=estimator,
                                      model="m", objective="source")
        frame = pd.read_parquet(output)
        assert frame["cka"].to_numpy() == pytest.approx(1.0)
        nulls[estimator] = frame["cka_shuffled"].to_numpy()
    assert np.abs(nulls["debiased"]).max() < 0.15
    assert (nulls["biased"] > nulls["debiased"] + 0.05).all()
    output = tmp_path / "models.parquet"
    analysis.cka_between_models(source_path=same["en"], variant_path=same["x"], output_path=output,
                                estimator="debiased", model="m", objective="mt-m2m", language="x")
    frame = pd.read_parquet(output)
    diagonal = frame["layer_index_source"] == frame["layer_index_variant"]
    assert frame.loc[diagonal, "cka_shuffled"].abs().max() < 0.15
    assert frame.loc[~diagonal, "cka_shuffled"].isna().all()


def test_cka_refuses_dumps_of_other_sentences_or_pooling(tmp_path: Path, language_dumps: dict) -> None:
    shuffled = write_fake(tmp_path / "shuffled.safetensors", 9, 0.1, ids=IDS[::-1])
    with pytest.raises(ValueError, match=r"en\.safetensors and .*shuffled\.safetensors: sentence ids differ"):
        analysis.cka_across_languages(dump_paths={"en": language_dumps["en"], "x": shuffled},
                                      output_path=tmp_path / "o.parquet", estimator="biased",
                                      model="m", objective="o")
    first = write_fake(tmp_path / "first.safetensors", 9, 0.1, pooling="first")
    with pytest.raises(ValueError, match="pooling differs"):
        analysis.cka_between_models(source_path=language_dumps["en"], variant_path=first,
                                    output_path=tmp_path / "o.parquet", estimator="biased", model="m",
                                    objective="o", language="en")
    with pytest.raises(ValueError, match="estimator must be one of"):
        analysis.cka_between_models(source_path=language_dumps["en"], variant_path=language_dumps["far"],
                                    output_path=tmp_path / "o.parquet", estimator="unbiased", model="m",
                                    objective="o", language="en")
    assert not (tmp_path / "o.parquet").exists()


def test_cka_between_models_is_a_layer_by_layer_matrix(tmp_path: Path, language_dumps: dict) -> None:
    output = tmp_path / "models.parquet"
    analysis.cka_between_models(source_path=language_dumps["en"], variant_path=language_dumps["close"],
                                output_path=output, estimator="debiased", model="m", objective="mt-m2o",
                                language="en")
    frame = pd.read_parquet(output)
    assert list(frame.columns) == analysis.MODEL_COLUMNS and len(frame) == len(LAYERS) ** 2
    source, variant = fake_layers(1, 0.0), fake_layers(2, 0.5)
    for row in frame.itertuples():
        expected = linear_cka(source[row.layer_source].half().numpy(),
                              variant[row.layer_variant].half().numpy(), debiased=True)
        assert row.cka == pytest.approx(expected, abs=1e-12)


def test_language_and_model_tables_and_figures(tmp_path: Path, language_dumps: dict) -> None:
    language_files, model_files = [], []
    for objective, noise in (("source", 0.0), ("mt-m2o", 0.3)):
        dumps = {language: write_fake(tmp_path / f"{objective}-{language}.safetensors", seed,
                                      noise + 0.2 * seed) for seed, language in enumerate(LANGUAGES)}
        language_files.append(tmp_path / f"languages-{objective}.parquet")
        analysis.cka_across_languages(dump_paths=dumps, output_path=language_files[-1], estimator="biased",
                                      model="m", objective=objective)
    for language in LANGUAGES:
        model_files.append(tmp_path / f"models-{language}.parquet")
        analysis.cka_between_models(source_path=tmp_path / f"source-{language}.safetensors",
                                    variant_path=tmp_path / f"mt-m2o-{language}.safetensors",
                                    output_path=model_files[-1], estimator="biased", model="m",
                                    objective="mt-m2o", language=language)
    analysis.write_cka_language_table(paths=language_files, csv_path=tmp_path / "l.csv",
                                      markdown_path=tmp_path / "l.md", train_language="en", study=STUDY)
    markdown = (tmp_path / "l.md").read_text()
    assert markdown.split("\n\n")[1] == CAPTION
    assert "## m / source" in markdown and "| layer | close | far |" in markdown
    assert "estimator: biased" in markdown
    assert len(pd.read_csv(tmp_path / "l.csv")) == 2 * len(LAYERS) * 3
    analysis.write_cka_model_table(paths=model_files, csv_path=tmp_path / "m.csv",
                                   markdown_path=tmp_path / "m.md", study=STUDY)
    assert "| objective | layer | en | close | far | mean |" in (tmp_path / "m.md").read_text()
    assert (tmp_path / "m.md").read_text().split("\n\n")[1] == CAPTION
    assert len(pd.read_csv(tmp_path / "m.csv")) == len(LANGUAGES) * len(LAYERS) ** 2
    drawings = {
        "heatmap.png": lambda out: figures.cka_language_heatmap(paths=[language_files[0]], output_path=out,
                                                                train_language="en"),
        "curves.png": lambda out: figures.cka_model_curves(paths=model_files, output_path=out),
    }
    for name, draw in drawings.items():
        digests = set()
        for attempt in range(2):
            draw(tmp_path / f"{attempt}-{name}")
            content = (tmp_path / f"{attempt}-{name}").read_bytes()
            assert content.startswith(b"\x89PNG")
            digests.add(hashlib.sha256(content).hexdigest())
        assert len(digests) == 1  # same data, same bytes
    with pytest.raises(ValueError, match="no CKA pairs with the training language 'xx'"):
        figures.cka_language_heatmap(paths=[language_files[0]], output_path=tmp_path / "x.png",
                                     train_language="xx")


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q_proj = nn.Linear(4, 4)
        self.fc1 = nn.Linear(4, 6)


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(9, 4)
        self.layers = nn.ModuleList([Block(), Block()])


def test_spectra_table_gives_each_variant_its_own_ratio(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = Tiny()
    files = []
    for objective, factor in (("source", 1.0), ("mt-m2o", 2.0), ("mt-o2m", 3.0)):
        model = Tiny()
        model.load_state_dict({key: factor * value for key, value in source.state_dict().items()})
        files.append(tmp_path / f"{objective}.parquet")
        spectra(model, model_name="m", objective=objective).to_parquet(files[-1])
    analysis.write_spectra_table(paths=files, csv_path=tmp_path / "s.csv", markdown_path=tmp_path / "s.md",
                                 top_k=2, study=STUDY)
    table = pd.read_csv(tmp_path / "s.csv")
    assert len(table) == 3 * (1 + 2 * 2)  # embedding + (query, ffn.in) in each of 2 layers, per objective
    ratios = table.groupby("objective")["sigma_max_ratio_to_source"].agg(["min", "max"])
    assert ratios.loc["mt-m2o"].tolist() == pytest.approx([2.0, 2.0])
    assert ratios.loc["mt-o2m"].tolist() == pytest.approx([3.0, 3.0])
    assert table.loc[table["objective"] == "source", "sigma_max_ratio_to_source"].isna().all()
    assert np.allclose(table.groupby("objective")["stable_rank_ratio_to_source"].mean().dropna(), 1.0)
    markdown = (tmp_path / "s.md").read_text()
    assert markdown.split("\n\n")[1] == CAPTION
    assert "| stack | module_type | source | mt-m2o | mt-o2m |" in markdown
    figures.spectra_curves(paths=files, output_path=tmp_path / "spectra.png")
    assert (tmp_path / "spectra.png").read_bytes().startswith(b"\x89PNG")
