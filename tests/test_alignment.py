"""Bitext retrieval and the language-ID probe against known answers, and the job over dumps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mtbridge import alignment
from mtbridge.representations import write_dump

STUDY = {"name": "toy", "config_hash": "0123456789ab"}


def gaussian(seed: int, n: int = 200, d: int = 16, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


def test_identical_representations_retrieve_every_translation() -> None:
    x = gaussian(0)
    assert alignment.retrieval_accuracy(x, x) == 1.0
    assert alignment.retrieval_accuracy(x, 3 * x) == 1.0  # cosine: scale does not matter


def test_random_representations_retrieve_about_one_in_n() -> None:
    accuracy = alignment.retrieval_accuracy(gaussian(0), gaussian(1))
    assert accuracy <= 0.03  # 1/n = 0.005


def test_retrieval_counts_a_tie_as_a_miss() -> None:
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert alignment.retrieval_accuracy(x, x) == pytest.approx(1 / 3)


def test_retrieval_of_noisy_translations_sits_between() -> None:
    x = gaussian(0)
    near = alignment.retrieval_accuracy(x, x + 0.3 * gaussian(1))
    far = alignment.retrieval_accuracy(x, x + 3.0 * gaussian(1))
    assert 0.03 < far < near <= 1.0


def test_retrieval_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"two matrices of one shape"):
        alignment.retrieval_accuracy(gaussian(0, n=5), gaussian(0, n=6))


def test_a_probe_tells_separated_languages_apart_and_not_identical_ones() -> None:
    separated = alignment.probe_accuracy([gaussian(0), gaussian(1, shift=3.0)])
    assert separated >= 0.99
    same = alignment.probe_accuracy([gaussian(0), gaussian(1)])
    assert abs(same - 0.5) < 0.1
    null = alignment.probe_accuracy([gaussian(0), gaussian(1, shift=3.0)], permute_labels=True)
    assert abs(null - 0.5) < 0.1
    three = alignment.probe_accuracy([gaussian(0), gaussian(1, shift=3.0), gaussian(2, shift=-3.0)])
    assert three >= 0.99


IDS = [f"s{i}" for i in range(60)]
LAYERS = ("embeddings", "layer_1")


def write_fake(path: Path, noise: float, seed: int) -> Path:
    """Layer ``embeddings`` shares nothing across languages; ``layer_1`` is one base plus ``noise``."""
    own = torch.Generator().manual_seed(seed)
    base = torch.Generator().manual_seed(0)
    shared = torch.randn(len(IDS), 8, generator=base)
    layers = {"embeddings": torch.randn(len(IDS), 8, generator=own) + 4 * seed,
              "layer_1": shared + noise * torch.randn(len(IDS), 8, generator=own)}
    write_dump(layers, IDS, {"pooling": "mean", "precision": "float64"}, path)
    return path


def test_the_job_gives_each_layer_both_directions_probes_and_nulls(tmp_path: Path) -> None:
    dumps = {language: write_fake(tmp_path / f"{language}.safetensors", noise, seed)
             for seed, (language, noise) in enumerate((("en", 0.0), ("close", 0.1), ("far", 0.3)), 1)}
    output = tmp_path / "alignment.parquet"
    alignment.alignment_measures(dump_paths=dumps, output_path=output, model="m", objective="source", folds=3)
    frame = pd.read_parquet(output)
    assert list(frame.columns) == alignment.COLUMNS
    retrieval = frame[frame["measure"] == "retrieval"]
    assert len(retrieval) == len(LAYERS) * 2 * 2
    assert set(zip(retrieval["language_a"], retrieval["language_b"], strict=True)) == {
        ("en", "close"), ("close", "en"), ("en", "far"), ("far", "en")}
    by_layer = retrieval.groupby("layer")["value"].mean()
    assert by_layer["layer_1"] > 0.9 and by_layer["embeddings"] < 0.2
    assert (retrieval["shuffled"] < 0.2).all() and (retrieval["chance"] == 1 / len(IDS)).all()
    probe = frame[frame["measure"] == "language_probe"].set_index(["layer", "language_b"])
    assert set(probe.index.get_level_values("language_b")) == {"close", "far", "all"}
    assert probe.loc[("embeddings", "all"), "value"] > 0.95  # languages far apart at the embeddings
    assert probe.loc[("layer_1", "close"), "value"] < 0.75  # nearly the same vectors: hard to tell
    assert probe.loc[("embeddings", "all"), "chance"] == pytest.approx(1 / 3)
    assert set(frame["sentences"]) == {len(IDS)} and set(frame["folds"]) == {3}

    csv, markdown = tmp_path / "alignment.csv", tmp_path / "alignment.md"
    alignment.write_alignment_table(paths=[output], csv_path=csv, markdown_path=markdown, train_language="en",
                                    study=STUDY)
    text = markdown.read_text()
    assert "## m / source: bitext retrieval accuracy" in text and "## m / source: language-ID probe" in text
    assert "| layer | close | far | shuffled |" in text and "| layer | close | far | all | shuffled |" in text
    assert len(pd.read_csv(csv)) == len(frame)


def test_the_job_refuses_dumps_of_other_sentences(tmp_path: Path) -> None:
    first = write_fake(tmp_path / "en.safetensors", 0.0, 1)
    other = tmp_path / "close.safetensors"
    write_dump({"embeddings": torch.zeros(3, 8), "layer_1": torch.zeros(3, 8)}, ["a", "b", "c"],
               {"pooling": "mean", "precision": "float64"}, other)
    with pytest.raises(ValueError, match="sentence ids differ at position 0"):
        alignment.alignment_measures(dump_paths={"en": first, "close": other},
                                     output_path=tmp_path / "o.parquet", model="m", objective="source")


def test_the_paired_test_against_known_answers() -> None:
    better, worse = np.ones(50), np.zeros(50)
    effect, low, high, p = alignment.paired_test(better, worse)
    assert (effect, low, high) == (1.0, 1.0, 1.0) and p <= 0.001  # only no swap at all is as far
    same = np.random.default_rng(0).integers(0, 2, 50).astype(float)
    assert alignment.paired_test(same, same) == (0.0, 0.0, 0.0, 1.0)
    half = np.r_[np.ones(25), np.zeros(25)]  # one item in two better: +0.5, clearly significant
    effect, low, high, p = alignment.paired_test(half, np.zeros(50))
    assert effect == 0.5 and low < 0.5 < high and p <= 0.001


def test_hits_are_per_item_and_average_to_the_accuracy() -> None:
    x, y = gaussian(0), gaussian(0) + 0.5 * gaussian(1)
    hits = alignment.retrieval_hits(x, y)
    assert hits.shape == (len(x),) and hits.mean() == alignment.retrieval_accuracy(x, y)
    arrays = [x, gaussian(2, shift=1.0)]
    probe = alignment.probe_hits(arrays)
    assert probe.shape == (2 * len(x),) and probe.mean() == alignment.probe_accuracy(arrays)


def test_the_findings_test_each_objective_against_source(tmp_path: Path) -> None:
    """An objective whose translations are near each other at the last layer is more aligned than a
    source whose are not; an objective with the source's own dumps differs in nothing."""
    paths = []
    for objective, noise in (("source", 2.0), ("aligned", 0.05), ("same", 2.0)):
        dumps = {language: write_fake(tmp_path / f"{objective}-{language}.safetensors",
                                      noise * (seed > 1), seed)
                 for seed, language in enumerate(("en", "close", "far"), 1)}
        paths.append(tmp_path / f"{objective}.parquet")
        alignment.alignment_measures(dump_paths=dumps, output_path=paths[-1], model="m", objective=objective,
                                     folds=3)
    csv, markdown = tmp_path / "alignment.csv", tmp_path / "alignment.md"
    alignment.write_alignment_table(paths=paths, csv_path=csv, markdown_path=markdown, train_language="en",
                                    study=STUDY)
    claims = alignment.claims(pd.concat([pd.read_parquet(path) for path in paths], ignore_index=True))
    found = claims.set_index(["objective", "measure"])
    aligned = found.loc[("aligned", "bitext retrieval")]
    assert aligned["effect"] > 0.5 and aligned["p_holm"] < 0.05 and aligned["reading"] == "more aligned"
    assert aligned["items"] == 2 * 2 * len(IDS)  # close and far, both directions
    same = found.loc[("same", "bitext retrieval")]
    assert same["effect"] == 0 and same["reading"] == "no significant difference"
    assert found.loc[("same", "language-ID probe"), "items"] == 3 * len(IDS)  # the all-language probe
    text = markdown.read_text()
    assert "## Findings: each objective against source at the last layer" in text and "more aligned" in text
    assert "outcomes" not in pd.read_csv(csv).columns
