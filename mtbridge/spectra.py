"""Singular-value spectra of weight matrices, the paper's "output separability" evidence.

Ji et al. (2024) find that MT continued pretraining raises singular values. Spectra
are computed in float64 for every 2-D weight (``singular_values``: from the Gram matrix's eigenvalues
where that is accurate, else ``torch.linalg.svdvals`` on the tall orientation); summaries
are the usual size measures of a matrix: largest singular value, Frobenius norm,
stable rank ‖W‖²_F / σ²_max, effective rank exp(H(σ / Σσ)) (Roy & Vetterli 2007), and
the sum of the top-k values.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import torch
from torch import nn

from mtbridge.aliases import PathLike
from mtbridge.io import write_text
from mtbridge.tabular import pipe_table, titled, without_empty_columns
from mtbridge.weights import weight_matrices

SPECTRUM_COLUMNS = ["model", "objective", "pretraining_seed", "parameter", "stack", "layer", "module_type",
                    "embedding", "rank", "singular_value"]
MATRIX_KEYS = SPECTRUM_COLUMNS[:8]
GROUP_KEYS = ["model", "objective", "stack", "module_type", "layer"]
LAYER = re.compile(r"layers?\.(\d+)\.")
MODULE_TYPES = (
    ("encoder_attn.q_proj", "cross_attention.query"), ("encoder_attn.k_proj", "cross_attention.key"),
    ("encoder_attn.v_proj", "cross_attention.value"), ("encoder_attn.out_proj", "cross_attention.output"),
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


def stack(name: str) -> str:
    """Which transformer stack holds a parameter: encoder, decoder, or shared (embeddings and heads)."""
    if not LAYER.search(name):
        return "shared"
    return "decoder" if "decoder" in name else "encoder"


def layer_index(name: str) -> int:
    """The layer a parameter belongs to; -1 for embeddings and heads."""
    match = LAYER.search(name)
    return int(match.group(1)) if match else -1


# A very tall matrix is reduced to its R factor in blocks of this many widths of rows. Measured on mBART-
# large's 250,054 x 1,024 embedding, 1 thread: blocks of 16 widths held ~0.4 GiB beyond the model at the
# peak, blocks of 4 ~0.15 GiB for ~10% more time (on a shared machine); svdvals of the whole matrix needed
# two 2 GB float64 copies.
QR_BLOCK = 4
# A matrix at least GRAM_ASPECT times taller than wide takes its values from the eigenvalues of its Gram
# matrix when its condition number is at most GRAM_MAX_CONDITION (see singular_values).
GRAM_ASPECT = 2
GRAM_MAX_CONDITION = 100.0


def _gram_singular_values(tall: torch.Tensor, device: torch.device | None) -> torch.Tensor | None:
    """sqrt of the eigenvalues of tallᵀ·tall, largest first, accumulated in float64 over blocks of one width
    of rows converted in one reused buffer (as fast as blocks of four, measured); None when the matrix is
    too ill-conditioned for them to be accurate."""
    width = tall.shape[1]
    buffer = torch.empty(width, width, dtype=torch.float64, device=device)
    gram = torch.zeros(width, width, dtype=torch.float64, device=device)
    for start in range(0, len(tall), width):
        rows = tall[start:start + width]
        block = buffer[:len(rows)]
        block.copy_(rows)
        gram.addmm_(block.T, block)
    eigenvalues = torch.linalg.eigvalsh(gram).flip(0)
    if eigenvalues[-1] < eigenvalues[0] / GRAM_MAX_CONDITION**2:
        return None
    return eigenvalues.sqrt()


def _r_factor(tall: torch.Tensor, device: torch.device | None) -> torch.Tensor:
    """The float64 R of a tall matrix's QR decomposition (same singular values), one block of rows at a time:
    R of [R_previous; next block], stacked in one reused buffer, so only one block is ever in float64."""
    width = tall.shape[1]
    step = QR_BLOCK * width
    stacked = torch.empty(width + step, width, dtype=torch.float64, device=device)
    r = torch.empty(0, width, dtype=torch.float64, device=device)
    for start in range(0, len(tall), step):
        block = tall[start:start + step]
        rows = len(r) + len(block)
        stacked[:len(r)] = r
        stacked[len(r):rows] = block  # converted to float64 in place
        r = torch.linalg.qr(stacked[:rows], mode="r").R
    return r


def singular_values(weight: torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
    """float64 singular values of a 2-D weight, largest first.

    LAPACK gets a tall matrix: a wide one is transposed (same values), as gesdd on a 1,024 x 4,096 matrix
    (mBART's fc2) took 2.9 s against 0.7 s on its transpose (measured, 1 thread). A matrix at least
    GRAM_ASPECT times taller than wide (feed-forward weights, embeddings) first tries the eigenvalues of
    its Gram matrix, one product and a width x width eigenproblem (4,096 x 1,024: 0.26 s against 0.43 s;
    250,054 x 1,024: 10 s against 16.5 s; 1 thread). Their relative error grows as ε·κ² (κ = σ_max /
    σ_min, ε = 2.2e-16), so they are kept only for κ ≤ GRAM_MAX_CONDITION (error ≤ ~1e-12; random
    matrices of aspect ≥ 2 have κ ≤ 6). Otherwise svdvals, after reducing a matrix more than QR_BLOCK
    times taller than wide (an embedding) to its R factor block by block, so that a 250,054 x 1,024
    vocabulary needs neither a whole float64 copy nor LAPACK's own copy of that (2 GB each).
    """
    tall = weight if weight.shape[0] >= weight.shape[1] else weight.T
    if tall.shape[0] >= GRAM_ASPECT * tall.shape[1]:
        values = _gram_singular_values(tall, device)
        if values is not None:
            return values
    if tall.shape[0] > QR_BLOCK * tall.shape[1]:
        tall = _r_factor(tall, device)
    return torch.linalg.svdvals(tall.to(device=device, dtype=torch.float64).contiguous())


def spectra(model: nn.Module, *, model_name: str, objective: str, pretraining_seed: int = 1,
            device: torch.device | None = None) -> pd.DataFrame:
    """One row per singular value: model, objective, parameter, layer, module type, rank, value.

    Computed in float64 on ``device`` (a GPU takes a 250k × 1024 embedding matrix in seconds). The values go
    into one array allocated up front and the other columns are made at the end: small arrays kept between
    the matrices' large float64 copies fragmented the heap (1.4 GB for mBART-large, measured), and a dict
    per row cost ~0.3 GB.
    """
    matrices = dict(weight_matrices(model))
    counts = [min(weight.shape) for weight in matrices.values()]
    values = np.empty(sum(counts))
    ends = np.cumsum(counts)
    for weight, end, count in zip(matrices.values(), ends, counts, strict=True):
        values[end - count:end] = singular_values(weight, device).cpu().numpy()

    def each_value(of_matrix: list, dtype: type = object) -> np.ndarray:
        """A per-matrix column repeated for each of its values (strings as objects, not fixed-width)."""
        return np.repeat(np.array(of_matrix, dtype=dtype), counts)

    names = list(matrices)
    kinds = [module_type(name) for name in names]
    columns = {"model": model_name, "objective": objective, "pretraining_seed": pretraining_seed,
               "parameter": each_value(names), "stack": each_value([stack(name) for name in names]),
               "layer": each_value([layer_index(name) for name in names], np.int64),
               "module_type": each_value(kinds),
               "embedding": each_value([kind == "embedding" for kind in kinds], bool),
               "rank": np.concatenate([np.arange(count) for count in counts]), "singular_value": values}
    return pd.DataFrame(columns, columns=SPECTRUM_COLUMNS)


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
    records = []
    for key, group in table.sort_values(MATRIX_KEYS + ["rank"]).groupby(MATRIX_KEYS, sort=False):
        records.append({**dict(zip(MATRIX_KEYS, key, strict=True)),
                        **summarise(group["singular_value"].tolist(), top_k)})
    return pd.DataFrame(records)


def measures(frame: pd.DataFrame) -> list[str]:
    """The summary columns of a per-matrix or per-group table."""
    return [column for column in frame.columns if column not in MATRIX_KEYS + ["matrices"]]


def by_module_type(per_matrix: pd.DataFrame) -> pd.DataFrame:
    """Mean of each measure over the matrices of one stack × module type × layer, with their count."""
    grouped = per_matrix.groupby(GROUP_KEYS, sort=True)[measures(per_matrix)]
    return grouped.mean().join(grouped.size().rename("matrices")).reset_index()


def ratio_to_source(table: pd.DataFrame, keys: tuple[str, ...] = ("pretraining_seed", "parameter"),
                    source: str = "source") -> pd.DataFrame:
    """Each variant's measures divided by its source model's, row by row on ``keys`` within a model
    (per matrix by default; ``("stack", "module_type", "layer")`` for the per-group table)."""
    index = ["model", *keys]
    columns = measures(table)
    base = table[table["objective"] == source][index + columns]
    variants = table[table["objective"] != source]
    merged = variants.merge(base, on=index, how="left", suffixes=("", "_source"), validate="many_to_one")
    for column in columns:
        merged[column] = merged[column] / merged.pop(f"{column}_source")
    return merged


# --- the paper's claim, with intervals: continued / source, per module type (and layer) -----------

RATIO_MEASURES = ("sigma_max", "stable_rank")
RATIO_COLUMNS = ["measure", "ratio", "ci_low", "ci_high", "matrices"]  # after model, objective, group
RESAMPLES = 1000
LEVEL = 0.95
BOOTSTRAP_SEED = 0


def log_mean_interval(logs: np.ndarray, level: float = LEVEL, resamples: int = RESAMPLES,
                      seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """exp of the mean of ``logs`` and its percentile bootstrap interval over the values (matrices);
    the interval is NaN for fewer than two values, where resampling says nothing."""
    point = float(np.exp(logs.mean()))
    if len(logs) < 2:
        return point, float("nan"), float("nan")
    draws = np.random.default_rng(seed).integers(0, len(logs), size=(resamples, len(logs)))
    tail = 100 * (1 - level) / 2
    low, high = np.exp(np.percentile(logs[draws].mean(axis=1), [tail, 100 - tail]))
    return point, float(low), float(high)


def ratio_intervals(per_matrix: pd.DataFrame, by: tuple[str, ...] = ("module_type", "layer"),
                    ratio_measures: tuple[str, ...] = RATIO_MEASURES, level: float = LEVEL,
                    resamples: int = RESAMPLES, source: str = "source") -> pd.DataFrame:
    """Per model × variant × ``by`` group, each measure's ratio to the source model's same matrix,
    summarised over the group's matrices as a geometric mean (exp of the mean log ratio, so a doubling
    and a halving cancel) with a percentile bootstrap interval over matrices (stacks and pretraining
    seeds pooled). ``per_matrix`` is ``summary``'s table; a ``by`` without ``layer`` pools the layers.
    """
    ratios = ratio_to_source(per_matrix, source=source)
    rows = []
    for key, group in ratios.groupby(["model", "objective", *by], sort=False):
        labels = dict(zip(["model", "objective", *by], key, strict=True))
        for measure in ratio_measures:
            ratio, low, high = log_mean_interval(np.log(group[measure].to_numpy(dtype=float)), level,
                                                 resamples)
            rows.append({**labels, "measure": measure, "ratio": ratio, "ci_low": low, "ci_high": high,
                         "matrices": len(group)})
    return pd.DataFrame(rows, columns=["model", "objective", *by, *RATIO_COLUMNS])


def write_spectra_ratio_table(*, paths: list[PathLike], csv_path: PathLike, markdown_path: PathLike,
                              study: dict, level: float = LEVEL, resamples: int = RESAMPLES) -> None:
    """From the raw spectra files: the ratios to source of σ_max and stable rank per module type × layer
    (CSV) and per module type over all layers (Markdown, ``ratio [low, high]`` per variant)."""
    raw = pd.concat([pd.read_parquet(path) for path in paths], ignore_index=True)
    per_matrix = summary(raw)
    by_layer = ratio_intervals(per_matrix, ("module_type", "layer"), level=level, resamples=resamples)
    pooled = ratio_intervals(per_matrix, ("module_type",), level=level, resamples=resamples)
    csv = without_empty_columns(by_layer).to_csv(index=False, float_format="%.6f", lineterminator="\n")
    write_text(csv, csv_path)
    parts = [titled("Spectra: continued / source", study),
             f"Per module type, the geometric mean over its matrices (all layers and stacks) of each "
             f"variant's σ_max and stable rank ‖W‖²_F/σ²_max divided by the source model's same matrix, "
             f"with a {level:.0%} percentile bootstrap interval over matrices ({resamples} resamples); "
             f"> 1 means larger than the source. The CSV has the same per module type × layer.\n"]
    for (model, measure), group in pooled.groupby(["model", "measure"], sort=False):
        objectives = list(dict.fromkeys(group["objective"]))
        types = list(dict.fromkeys(group["module_type"]))
        cells = {(row.module_type, row.objective): _ratio_cell(row) for row in group.itertuples()}
        lines = [["module type", *objectives], ["---", *["---:"] * len(objectives)]]
        lines += [[kind, *(cells.get((kind, objective), "–") for objective in objectives)] for kind in types]
        parts.append(f"## {model}: {measure}\n\n{pipe_table(lines)}")
    write_text("\n".join(parts), markdown_path)


def _ratio_cell(row) -> str:
    if math.isnan(row.ci_low):
        return f"{row.ratio:.3f}"
    return f"{row.ratio:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"
