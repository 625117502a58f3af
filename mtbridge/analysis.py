"""The paper's look inside the models, as jobs: CKA over activation dumps, spectra of checkpoints, and the
tables that gather them.

Every CKA output carries the estimator, pooling and sentence count it was computed with, so numbers made
under different settings cannot be mixed up silently. Dumps are read one layer at a time. Beside every CKA
of the training language with X (and of a source layer with the variant's same layer) stands its null,
``cka_shuffled``: the same with X's sentences in a fixed random order, so no sentence meets its translation.
It shows what "no alignment" reads as under the estimator used (near 0 debiased; well above 0 biased when
the sentence count is not far above the width).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from mtbridge import spectra as weight_spectra
from mtbridge.aliases import PathLike
from mtbridge.io import write_parquet, write_text
from mtbridge.models import load_pretrained
from mtbridge.representations import Dump, open_dump
from mtbridge.similarity import aligned, cka_matrix, cka_pairs, linear_cka
from mtbridge.tabular import pipe_table, titled, without_empty_columns
from mtbridge.training import select_device

ESTIMATORS = ("biased", "debiased")
SOURCE = "source"
SETTINGS = ("estimator", "pooling", "precision", "sentences")
NULL_SEED = 0  # the sentence order of every null: fixed, so nulls are comparable across models
LANGUAGE_COLUMNS = ["model", "objective", "pretraining_seed", "layer_index", "layer", "language_a",
                    "language_b", "cka", "cka_shuffled", *SETTINGS]
MODEL_COLUMNS = ["model", "objective", "pretraining_seed", "language", "layer_index_source", "layer_source",
                 "layer_index_variant", "layer_variant", "cka", "cka_shuffled", *SETTINGS]



def debiased(estimator: str) -> bool:
    if estimator not in ESTIMATORS:
        raise ValueError(f"CKA estimator must be one of {ESTIMATORS}, got {estimator!r}")
    return estimator == "debiased"


def comparable(dumps: Mapping[str, Dump]) -> dict:
    """The settings all ``dumps`` share; refuses dumps of other sentences or made another way."""
    (first_name, first), *others = dumps.items()
    for name, dump in others:
        try:
            aligned(first.ids, dump.ids)
        except ValueError as error:
            raise ValueError(f"{first.path} and {dump.path}: {error}") from None
        for key in ("pooling", "precision"):
            if dump.meta[key] != first.meta[key]:
                raise ValueError(f"{first.path} and {dump.path}: {key} differs "
                                 f"({first.meta[key]!r} for {first_name}, {dump.meta[key]!r} for {name})")
    return {"pooling": first.meta["pooling"], "precision": first.meta["precision"],
            "sentences": len(first.ids)}


def shuffled_order(sentences: int) -> np.ndarray:
    return np.random.default_rng(NULL_SEED).permutation(sentences)


def cka_across_languages(*, dump_paths: Mapping[str, PathLike], output_path: PathLike, estimator: str,
                         model: str, objective: str, pretraining_seed: int = 1) -> None:
    """CKA between every pair of languages at every layer of one model × objective, and the null of each
    pair with the first language (the training language's pairs, ``en``–X).

    ``dump_paths`` maps language to dump, training language first.
    """
    unbiased = debiased(estimator)
    dumps = {language: open_dump(path) for language, path in dump_paths.items()}
    settings = comparable(dumps)
    first, layers = next(iter(dumps)), next(iter(dumps.values())).layers
    order = shuffled_order(settings["sentences"])
    rows = []
    for index, layer in enumerate(layers):
        vectors = {language: dump.layer(layer) for language, dump in dumps.items()}
        values = cka_pairs(vectors, debiased=unbiased)
        rows += [{"model": model, "objective": objective, "pretraining_seed": pretraining_seed,
                  "layer_index": index, "layer": layer,
                  "language_a": a, "language_b": b, "cka": value,
                  "cka_shuffled": linear_cka(vectors[a], vectors[b][order], debiased=unbiased) if a == first
                  else float("nan"), "estimator": estimator, **settings}
                 for (a, b), value in values.items()]
    write_parquet(pd.DataFrame(rows, columns=LANGUAGE_COLUMNS), output_path)


def cka_between_models(*, source_path: PathLike, variant_path: PathLike, output_path: PathLike,
                       estimator: str, model: str, objective: str, language: str,
                       pretraining_seed: int = 1) -> None:
    """The layer × layer CKA matrix between a source model and one of its continued variants, with the
    null of each same-layer pair."""
    source, variant = open_dump(source_path), open_dump(variant_path)
    settings = comparable({SOURCE: source, objective: variant})
    unbiased = debiased(estimator)
    xs, ys = [source.layer(name) for name in source.layers], [variant.layer(name) for name in variant.layers]
    matrix = cka_matrix(xs, ys, debiased=unbiased)
    order = shuffled_order(settings["sentences"])
    nulls = [linear_cka(x, y[order], debiased=unbiased) for x, y in zip(xs, ys, strict=False)]
    rows = [{"model": model, "objective": objective, "pretraining_seed": pretraining_seed,
             "language": language,
             "layer_index_source": i, "layer_source": source.layers[i],
             "layer_index_variant": j, "layer_variant": variant.layers[j], "cka": float(matrix[i, j]),
             "cka_shuffled": nulls[i] if i == j else float("nan"), "estimator": estimator, **settings}
            for i in range(matrix.shape[0]) for j in range(matrix.shape[1])]
    write_parquet(pd.DataFrame(rows, columns=MODEL_COLUMNS), output_path)


def write_spectra(*, checkpoint_dir: PathLike, output_path: PathLike, model: str, objective: str,
                  pretraining_seed: int = 1, threads: int = 1, device: dict | None = None) -> None:
    """Singular values of every 2-D weight of a pretraining checkpoint, one row per value.

    The thread count is fixed: ``svdvals`` differs in the last bit between 1 and 2 threads (measured),
    and the same job must give the same bytes on a laptop and on a cluster node.
    """
    torch.set_num_threads(threads)
    values = weight_spectra.spectra(load_pretrained(checkpoint_dir), model_name=model, objective=objective,
                                    pretraining_seed=pretraining_seed, device=select_device(device).device)
    write_parquet(values, output_path)


# --- tables ----------------------------------------------------------------------------------


def ordered(values: pd.Series) -> list:
    """Distinct values in the order they first appear (the config's order)."""
    return list(dict.fromkeys(values))


def read_frames(paths: Sequence[PathLike]) -> pd.DataFrame:
    if not paths:
        raise ValueError("no input files to tabulate")
    return pd.concat([pd.read_parquet(path) for path in paths], ignore_index=True)


def markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub Markdown table; numbers rounded to ``digits``."""
    def cell(value: object) -> str:
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)

    return pipe_table([[str(column) for column in frame.columns], ["---"] * len(frame.columns),
                       *([cell(value) for value in row] for row in frame.itertuples(index=False))])


def write_table(frame: pd.DataFrame, sections: Sequence[tuple[str, pd.DataFrame]], title: str,
                legend: str, study: Mapping[str, str], csv_path: PathLike, markdown_path: PathLike) -> None:
    """The full long-form ``frame`` as CSV (less its all-NaN columns); the readable ``sections`` as one
    Markdown file, headed by the study's name and config hash."""
    write_text(without_empty_columns(frame).to_csv(index=False, float_format="%.6f", lineterminator="\n"),
               csv_path)
    parts = [f"{titled(title, study)}\n{legend}\n"]
    parts += [f"## {heading}\n\n{markdown(section)}" for heading, section in sections]
    write_text("\n".join(parts), markdown_path)


def settings_line(frame: pd.DataFrame) -> str:
    values = {key: sorted(frame[key].astype(str).unique()) for key in SETTINGS}
    return "; ".join(f"{key}: {', '.join(found)}" for key, found in values.items())


def write_cka_language_table(*, paths: Sequence[PathLike], csv_path: PathLike, markdown_path: PathLike,
                             train_language: str, study: Mapping[str, str]) -> None:
    """All language pairs as CSV; per model × objective, CKA(train language, X) by layer as Markdown."""
    frame = read_frames(paths)  # in config order: model × objective, then layer, then language pair
    from_train = frame[frame["language_a"] == train_language]
    sections = [(f"{model} / {objective}", language_section(group))
                for (model, objective), group in from_train.groupby(["model", "objective"], sort=False)]
    legend = (f"Linear CKA between the {train_language} representation of each parallel evaluation "
              f"sentence and its translation, layer by layer (1 = same geometry up to rotation and "
              f"scale). `shuffled` is the null: the mean over X of CKA({train_language}, X) with X's "
              f"sentences in a random order, what no alignment reads as. {settings_line(frame)}.")
    write_table(frame, sections, "CKA across languages", legend, study, csv_path, markdown_path)


def language_section(group: pd.DataFrame) -> pd.DataFrame:
    """CKA(train, X) by layer, one column per X, then the mean null over X; each the mean over
    pretraining seeds."""
    layers = ordered(group["layer"])
    wide = (group.pivot_table(index="layer", columns="language_b", values="cka", aggfunc="mean")
            .reindex(columns=ordered(group["language_b"])).reindex(index=layers))
    wide["shuffled"] = group.groupby("layer")["cka_shuffled"].mean().reindex(layers)
    return wide.reset_index()


def write_cka_model_table(*, paths: Sequence[PathLike], csv_path: PathLike, markdown_path: PathLike,
                          study: Mapping[str, str]) -> None:
    """Every layer × layer entry as CSV; per family, CKA(source, variant) at the same layer as Markdown."""
    frame = read_frames(paths)  # in config order: model, variant, language, then layer pairs
    same = frame[frame["layer_index_source"] == frame["layer_index_variant"]]
    sections = []
    for model, group in same.groupby("model", sort=False):
        wide = group.pivot_table(index=["objective", "layer_index_source", "layer_source"],
                                 columns="language", values="cka", sort=False)
        wide["mean"] = wide.mean(axis=1)
        wide["shuffled"] = group.groupby(["objective", "layer_index_source", "layer_source"],
                                         sort=False)["cka_shuffled"].mean()
        sections.append((model, wide.reset_index().drop(columns="layer_index_source")
                         .rename(columns={"layer_source": "layer"})))
    legend = (f"Linear CKA between a source model and each of its continued variants on the same "
              f"sentences, at the same layer (the CSV holds every layer pair); `shuffled` is the null, the "
              f"mean over languages with the variant's sentences in a random order. {settings_line(frame)}.")
    write_table(frame, sections, "CKA between source and continued models", legend, study, csv_path,
                markdown_path)


def write_spectra_table(*, paths: Sequence[PathLike], csv_path: PathLike, markdown_path: PathLike,
                        top_k: int, study: Mapping[str, str]) -> None:
    """Per stack × module type × layer measures and ratios to source as CSV; per family, σ_max by
    module type (mean over layers) with its ratio to source as Markdown."""
    raw = read_frames(paths)
    objectives = ordered(raw["objective"])  # source first
    per_matrix = weight_spectra.summary(raw, top_k)
    groups = weight_spectra.by_module_type(per_matrix)
    ratios = weight_spectra.ratio_to_source(groups, keys=("stack", "module_type", "layer"))
    measures = weight_spectra.measures(groups)
    frame = groups.merge(ratios[["model", "objective", "stack", "module_type", "layer", *measures]],
                         on=["model", "objective", "stack", "module_type", "layer"], how="left",
                         suffixes=("", "_ratio_to_source"))
    sections = []
    for model, group in frame.groupby("model", sort=False):
        for column, heading in (("sigma_max", "largest singular value"),
                                ("sigma_max_ratio_to_source", "σ_max ratio to source")):
            wide = group.pivot_table(index=["stack", "module_type"], columns="objective", values=column)
            wide = wide[[objective for objective in objectives if objective in wide.columns]]
            sections.append((f"{model}: {heading}, mean over layers", wide.reset_index()))
    legend = (f"Singular values of every 2-D weight (float64 svdvals). The CSV gives, per stack × module "
              f"type × layer, σ_max, Frobenius norm, stable rank ‖W‖²_F/σ²_max, effective rank and the "
              f"top-{top_k} sum (means over the matrices of the group) and each measure's ratio to the "
              f"source model.")
    write_table(frame, sections, "Weight spectra", legend, study, csv_path, markdown_path)
