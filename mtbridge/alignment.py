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
from mtbridge.analysis import SOURCE, comparable, ordered, read_frames, shuffled_order, write_table
from mtbridge.io import write_parquet
from mtbridge.representations import open_dump

FOLDS = 5
PROBE_SEED = 0  # fold assignment and the label permutation of the probe's null
ALL_LANGUAGES = "all"
_CHUNK_ROWS = 1024
COLUMNS = ["model", "objective", "pretraining_seed", "layer_index", "layer", "measure", "language_a",
           "language_b", "value", "shuffled", "chance", "pooling", "precision", "sentences", "folds",
           "outcomes"]  # outcomes: 0/1 per query (retrieval) or per sentence (probe), for the paired tests
RESAMPLES = 9999  # the claims' paired permutation test and bootstrap interval (p >= 1 / 5000 two-sided)
TEST_SEED = 20240520
ALPHA = 0.05
MEASURE_NAMES = {"retrieval": "bitext retrieval", "language_probe": "language-ID probe"}
CLAIM_COLUMNS = ["model", "objective", "measure", "source", "objective value", "effect", "interval", "p",
                 "items"]


def unit_rows(x: ArrayLike) -> np.ndarray:
    """Rows scaled to unit length in float64 (a zero row stays zero: cosine 0 with everything)."""
    rows = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def retrieval_hits(queries: ArrayLike, candidates: ArrayLike) -> np.ndarray:
    """Per query row i: is candidate i its nearest candidate by cosine, strictly (ties are misses)?

    Computed over blocks of query rows, so memory is O(block × n), not n × n.
    """
    q, c = unit_rows(queries), unit_rows(candidates)
    if q.shape != c.shape or q.ndim != 2 or len(q) < 2:
        raise ValueError(f"retrieval needs two matrices of one shape with at least 2 rows, got {q.shape} "
                         f"and {c.shape}")
    hits = []
    for start in range(0, len(q), _CHUNK_ROWS):
        similarity = q[start:start + _CHUNK_ROWS] @ c.T
        rows = np.arange(len(similarity))
        own = similarity[rows, start + rows].copy()
        similarity[rows, start + rows] = -np.inf
        hits.append(own > similarity.max(axis=1))
    return np.concatenate(hits)


def retrieval_accuracy(queries: ArrayLike, candidates: ArrayLike) -> float:
    """Share of rows i whose nearest candidate by cosine is candidate i (``retrieval_hits``)."""
    return float(retrieval_hits(queries, candidates).mean())


def probe_hits(vectors: Sequence[ArrayLike], folds: int = FOLDS, seed: int = PROBE_SEED,
               permute_labels: bool = False) -> np.ndarray:
    """Per row (``vectors`` concatenated): does a logistic-regression probe trained on the other folds
    (stratified k-fold) tell which array it came from (label i for every row of ``vectors[i]``)? With
    ``permute_labels`` the labels are shuffled first (the null)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([np.asarray(array, dtype=np.float64) for array in vectors])
    labels = np.concatenate([np.full(len(array), index) for index, array in enumerate(vectors)])
    if permute_labels:
        labels = np.random.default_rng(seed).permutation(labels)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(probe, x, labels, cv=splits) == labels


def probe_accuracy(vectors: Sequence[ArrayLike], folds: int = FOLDS, seed: int = PROBE_SEED,
                   permute_labels: bool = False) -> float:
    """Cross-validated accuracy of the probe (``probe_hits``) over all rows."""
    return float(probe_hits(vectors, folds, seed, permute_labels).mean())


def layer_rows(vectors: Mapping[str, np.ndarray], order: np.ndarray, folds: int) -> list[dict]:
    """Retrieval both ways between the first language and every other, and the probes, at one layer."""
    (first, base), *others = vectors.items()
    rows = []
    for language, x in others:
        for a, b, queries, candidates in ((first, language, base, x), (language, first, x, base)):
            # the null reorders X either way: the same sentence order as CKA's null
            shuffled = (queries, candidates[order]) if b == language else (queries[order], candidates)
            hits = retrieval_hits(queries, candidates)
            rows.append({"measure": "retrieval", "language_a": a, "language_b": b,
                         "value": float(hits.mean()), "shuffled": retrieval_accuracy(*shuffled),
                         "chance": 1 / len(base), "outcomes": hits.astype(np.int8)})
        rows.append(probe_row(first, language, [base, x], folds))
    if len(vectors) > 2:
        rows.append(probe_row(first, ALL_LANGUAGES, list(vectors.values()), folds))
    return rows


def probe_row(first: str, other: str, arrays: list[np.ndarray], folds: int) -> dict:
    hits = probe_hits(arrays, folds)
    return {"measure": "language_probe", "language_a": first, "language_b": other,
            "value": float(hits.mean()), "shuffled": probe_accuracy(arrays, folds, permute_labels=True),
            "chance": 1 / len(arrays), "outcomes": hits.astype(np.int8)}


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
    sections = [("Findings: each objective against source at the last layer", claims(frame))]
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
              f"agnostic; `shuffled` is the null with permuted labels (≈ chance). {settings_line_of(frame)}. "
              f"Findings: per family, each objective's last layer against `source`'s, over the same queries "
              f"(every X, both directions) and sentences (the probe over all languages, or {train_language} "
              f"vs X where there is one X), pretraining seeds pooled; effect = difference in accuracy with "
              f"its 95% paired bootstrap interval, p from a paired permutation test (scipy.stats, "
              f"{RESAMPLES} resamples), "
              f"Holm-corrected over the table's tests, significant at p_holm < {ALPHA}.")
    write_table(frame.drop(columns="outcomes"), sections, "Alignment: retrieval and language identification",
                legend, study, csv_path, markdown_path)


def last_layer_outcomes(group: pd.DataFrame, measure: str) -> dict[tuple, np.ndarray]:
    """(pretraining seed, language_a, language_b) → 0/1 outcomes at the group's last layer; for the probe
    only the all-language one where there is one."""
    part = group[(group["measure"] == measure) & (group["layer_index"] == group["layer_index"].max())]
    if measure == "language_probe" and part["language_b"].eq(ALL_LANGUAGES).any():
        part = part[part["language_b"] == ALL_LANGUAGES]
    return {(row.pretraining_seed, row.language_a, row.language_b): np.asarray(row.outcomes, dtype=float)
            for row in part.itertuples(index=False)}


def paired_test(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float]:
    """Mean of A minus mean of B over paired items: effect, its 95% percentile bootstrap interval, and
    the two-sided p of a paired permutation test (each item's two outcomes swapped at random)."""
    from scipy import stats

    def difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    interval = stats.bootstrap((a, b), difference, paired=True, vectorized=True, n_resamples=RESAMPLES,
                               method="percentile", batch=100, rng=np.random.default_rng(TEST_SEED))
    permuted = stats.permutation_test((a, b), difference, permutation_type="samples", vectorized=True,
                                      n_resamples=RESAMPLES, batch=100, rng=np.random.default_rng(TEST_SEED))
    low, high = interval.confidence_interval
    return float(difference(a, b)), float(low), float(high), float(permuted.pvalue)


def reading(measure: str, effect: float, significant: bool) -> str:
    """What a significant difference says: retrieval up = more aligned; the probe down = more
    language-agnostic."""
    if not significant:
        return "no significant difference"
    if measure == MEASURE_NAMES["retrieval"]:
        return "more aligned" if effect > 0 else "less aligned"
    return "more language-agnostic" if effect < 0 else "less language-agnostic"


def claims(frame: pd.DataFrame) -> pd.DataFrame:
    """Every objective of a family with `source` against it, by each measure at the last layer."""
    from statsmodels.stats.multitest import multipletests

    rows = []
    for model, family in frame.groupby("model", sort=False):
        reference = family[family["objective"] == SOURCE]
        references = {measure: last_layer_outcomes(reference, measure) for measure in MEASURE_NAMES}
        for objective, group in family[family["objective"] != SOURCE].groupby("objective", sort=False):
            for measure, name in MEASURE_NAMES.items():
                mine, theirs = last_layer_outcomes(group, measure), references[measure]
                keys = [key for key in mine if key in theirs]
                if not keys:
                    continue
                a, b = (np.concatenate([outcomes[key] for key in keys]) for outcomes in (mine, theirs))
                effect, low, high, p = paired_test(a, b)
                rows.append(dict(zip(CLAIM_COLUMNS, (model, objective, name, b.mean(), a.mean(), effect,
                                                     f"[{low:.3f}, {high:.3f}]", p, len(a)), strict=True)))
    table = pd.DataFrame(rows, columns=CLAIM_COLUMNS)
    if table.empty:
        return table
    table["p_holm"] = multipletests(table["p"], method="holm")[1]
    table["reading"] = [reading(measure, effect, p_holm < ALPHA) for measure, effect, p_holm
                        in zip(table["measure"], table["effect"], table["p_holm"], strict=True)]
    return table.drop(columns="p")


def settings_line_of(frame: pd.DataFrame) -> str:
    """What the numbers were computed with: pooling, precision, sentence count and the probe's folds."""
    return "; ".join(f"{key}: {', '.join(sorted(frame[key].astype(str).unique()))}"
                     for key in ("pooling", "precision", "sentences", "folds"))
