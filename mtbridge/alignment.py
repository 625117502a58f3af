"""Alignment measured beside CKA, from the same activation dumps, layer by layer (issue #15, part 4).

CKA compares the geometry of two languages' representations as wholes; these two measures ask about
single sentences, as the literature reads language-agnostic representations:

- **Bitext retrieval** (XTREME's Tatoeba task, Hu et al. 2020): each English sentence's nearest
  neighbour by cosine among all X sentences, and the reverse; accuracy is the share that finds its own
  translation (row i of both dumps holds the same sentence id). A tie between the translation and
  another sentence counts as a miss, so identical rows cannot pass by luck of ordering.
- **Language identification probe**: logistic regression on standardised vectors, stratified k-fold
  cross-validated accuracy, English against each X (chance 0.5) and over all languages (chance 1/k).
  Aligned representations retrieve translations well and make the language hard to tell apart.

A null beside every number, as beside CKA: retrieval with X's sentences in the same fixed random order
as CKA's null (``analysis.shuffled_order``), so no sentence meets its translation (≈ 1/n); for the probe,
whose labels are the languages, reordering the sentences of one language changes nothing, so its null
permutes the labels over all sentences (≈ chance).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from mtbridge.aliases import PathLike
from mtbridge.analysis import comparable, ordered, read_frames, shuffled_order, write_table
from mtbridge.io import write_parquet
from mtbridge.representations import open_dump

FOLDS = 5
PROBE_SEED = 0  # fold assignment and the label permutation of the probe's null
ALL_LANGUAGES = "all"
_CHUNK_ROWS = 1024
COLUMNS = ["model", "objective", "pretraining_seed", "layer_index", "layer", "measure", "language_a",
           "language_b", "value", "shuffled", "chance", "pooling", "precision", "sentences", "folds"]


def unit_rows(x: ArrayLike) -> np.ndarray:
    """Rows scaled to unit length in float64 (a zero row stays zero: cosine 0 with everything)."""
    rows = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def retrieval_accuracy(queries: ArrayLike, candidates: ArrayLike) -> float:
    """Share of rows i whose nearest candidate by cosine is candidate i, strictly (ties are misses).

    Computed over blocks of query rows, so memory is O(block × n), not n × n.
    """
    q, c = unit_rows(queries), unit_rows(candidates)
    if q.shape != c.shape or q.ndim != 2 or len(q) < 2:
        raise ValueError(f"retrieval needs two matrices of one shape with at least 2 rows, got {q.shape} "
                         f"and {c.shape}")
    correct = 0
    for start in range(0, len(q), _CHUNK_ROWS):
        similarity = q[start:start + _CHUNK_ROWS] @ c.T
        rows = np.arange(len(similarity))
        own = similarity[rows, start + rows].copy()
        similarity[rows, start + rows] = -np.inf
        correct += int(np.count_nonzero(own > similarity.max(axis=1)))
    return correct / len(q)


def probe_accuracy(vectors: Sequence[ArrayLike], folds: int = FOLDS, seed: int = PROBE_SEED,
                   permute_labels: bool = False) -> float:
    """Mean stratified k-fold accuracy of a logistic-regression probe telling the arrays apart (label i
    for every row of ``vectors[i]``); with ``permute_labels`` the labels are shuffled first (the null)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([np.asarray(array, dtype=np.float64) for array in vectors])
    labels = np.concatenate([np.full(len(array), index) for index, array in enumerate(vectors)])
    if permute_labels:
        labels = np.random.default_rng(seed).permutation(labels)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(cross_val_score(probe, x, labels, cv=splits, scoring="accuracy").mean())


def layer_rows(vectors: Mapping[str, np.ndarray], order: np.ndarray, folds: int) -> list[dict]:
    """Retrieval both ways between the first language and every other, and the probes, at one layer."""
    (first, base), *others = vectors.items()
    rows = []
    for language, x in others:
        for a, b, queries, candidates in ((first, language, base, x), (language, first, x, base)):
            # the null reorders X either way: the same sentence order as CKA's null
            shuffled = (queries, candidates[order]) if b == language else (queries[order], candidates)
            rows.append({"measure": "retrieval", "language_a": a, "language_b": b,
                         "value": retrieval_accuracy(queries, candidates),
                         "shuffled": retrieval_accuracy(*shuffled), "chance": 1 / len(base)})
        rows.append(probe_row(first, language, [base, x], folds))
    if len(vectors) > 2:
        rows.append(probe_row(first, ALL_LANGUAGES, list(vectors.values()), folds))
    return rows


def probe_row(first: str, other: str, arrays: list[np.ndarray], folds: int) -> dict:
    return {"measure": "language_probe", "language_a": first, "language_b": other,
            "value": probe_accuracy(arrays, folds),
            "shuffled": probe_accuracy(arrays, folds, permute_labels=True),
            "chance": 1 / len(arrays)}


def alignment_measures(*, dump_paths: Mapping[str, PathLike], output_path: PathLike, model: str,
                       objective: str, pretraining_seed: int = 1, folds: int = FOLDS) -> None:
    """Per layer of one model × objective: bitext retrieval en→X and X→en, the language probes (en vs X
    and over all languages), each with its null, as one Parquet table (``COLUMNS``).

    ``dump_paths`` maps language to dump, training language first; dumps of other sentences, pooling
    or precision are refused as for CKA.
    """
    dumps = {language: open_dump(path) for language, path in dump_paths.items()}
    if len(dumps) < 2:
        raise ValueError(f"alignment needs dumps of at least two languages, got {list(dumps)}")
    settings = comparable(dumps)
    order = shuffled_order(settings["sentences"])
    rows = []
    for index, layer in enumerate(next(iter(dumps.values())).layers):
        vectors = {language: dump.layer(layer).astype(np.float64) for language, dump in dumps.items()}
        rows += [{"model": model, "objective": objective, "pretraining_seed": pretraining_seed,
                  "layer_index": index, "layer": layer, **row, **settings, "folds": folds}
                 for row in layer_rows(vectors, order, folds)]
    write_parquet(pd.DataFrame(rows, columns=COLUMNS), output_path)


def alignment_section(group: pd.DataFrame, train_language: str) -> pd.DataFrame:
    """Layer × language (means over directions and pretraining seeds), then the mean null."""
    layers = ordered(group["layer"])
    other = group["language_b"].where(group["language_b"] != train_language, group["language_a"])
    wide = (group.assign(language=other)
            .pivot_table(index="layer", columns="language", values="value", aggfunc="mean")
            .reindex(columns=ordered(other)).reindex(index=layers))
    wide["shuffled"] = group.groupby("layer")["shuffled"].mean().reindex(layers)
    return wide.reset_index()


def write_alignment_table(*, paths: Sequence[PathLike], csv_path: PathLike, markdown_path: PathLike,
                          train_language: str, study: Mapping[str, str]) -> None:
    """All rows as CSV; per model × objective, retrieval and probe accuracy by layer and language as
    Markdown, each with its null."""
    frame = read_frames(paths)
    frame = frame[frame["language_a"].eq(train_language) | frame["language_b"].eq(train_language)]
    sections = []
    for (model, objective), group in frame.groupby(["model", "objective"], sort=False):
        for measure, heading in (("retrieval", "bitext retrieval accuracy"),
                                 ("language_probe", "language-ID probe accuracy")):
            part = group[group["measure"] == measure]
            if not part.empty:
                section = alignment_section(part, train_language)
                sections.append((f"{model} / {objective}: {heading}", section))
    legend = (f"Bitext retrieval: share of sentences whose nearest neighbour by cosine in the other "
              f"language is their translation, mean of {train_language}→X and X→{train_language} (higher = "
              f"more aligned); `shuffled` is the null with X's sentences in a random order (≈ 1/n). "
              f"Language-ID probe: cross-validated accuracy of a logistic regression telling "
              f"{train_language} from X (`{ALL_LANGUAGES}`: every language at once); lower = more language-"
              f"agnostic; `shuffled` is the null with permuted labels (≈ chance). {settings_line_of(frame)}.")
    write_table(frame, sections, "Alignment: retrieval and language identification", legend, study, csv_path,
                markdown_path)


def settings_line_of(frame: pd.DataFrame) -> str:
    """What the numbers were computed with: pooling, precision, sentence count and the probe's folds."""
    return "; ".join(f"{key}: {', '.join(sorted(frame[key].astype(str).unique()))}"
                     for key in ("pooling", "precision", "sentences", "folds"))
