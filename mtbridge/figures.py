"""Paper figures as PNG (matplotlib, Agg): CKA heatmaps and curves, weight spectra, translation scores.

Each figure is drawn from analysis Parquet files (or a table) alone: redrawn without recomputing.
Files carry no timestamp, so the same data gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mtbridge.aliases import PathLike  # noqa: E402
from mtbridge.analysis import SOURCE, language_section, ordered, read_frames  # noqa: E402
from mtbridge.io import atomic_path  # noqa: E402
from mtbridge.translation import COPY, arrow, score_column  # noqa: E402

DPI = 120


def save(figure: Figure, path: PathLike) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(figure)


def cka_language_heatmap(*, paths: Sequence[PathLike], output_path: PathLike, train_language: str) -> None:
    """Layer × language heatmap of CKA(train language, X) for one model × objective (the mean over its
    pretraining seeds, one file each)."""
    frame = read_frames(paths)
    frame = frame[frame["language_a"] == train_language]
    if frame.empty:
        raise ValueError(f"{paths[0]}: no CKA pairs with the training language {train_language!r}")
    values = language_section(frame).set_index("layer")
    layers, languages = list(values.index), list(values.columns)
    figure, axes = plt.subplots(figsize=(1.2 + 1.1 * len(languages), 0.9 + 0.5 * len(layers)))
    image = axes.imshow(values.to_numpy(), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for (row, column), value in np.ndenumerate(values.to_numpy()):
        axes.text(column, row, f"{value:.2f}", ha="center", va="center",
                  color="black" if value > 0.6 else "white", fontsize=8)
    axes.set_xticks(range(len(languages)), languages)
    axes.set_yticks(range(len(layers)), layers)
    first = frame.iloc[0]
    axes.set_title(f"{first['model']} / {first['objective']}: CKA({train_language}, X)\n"
                   f"{first['estimator']}, {first['pooling']} pooling; shuffled = null", fontsize=9)
    figure.colorbar(image, ax=axes, fraction=0.05)
    figure.tight_layout()
    save(figure, output_path)


def cka_model_curves(*, paths: Sequence[PathLike], output_path: PathLike) -> None:
    """CKA(source, variant) at the same layer, one panel per language, one line per variant."""
    frame = read_frames(paths)
    same = frame[frame["layer_index_source"] == frame["layer_index_variant"]]
    languages = ordered(same["language"])
    layers = same.drop_duplicates("layer_index_source").sort_values("layer_index_source")
    figure, axes = plt.subplots(1, len(languages), figsize=(2.6 * len(languages), 2.8), sharey=True,
                                squeeze=False)
    for panel, language in zip(axes[0], languages, strict=True):
        here = same[same["language"] == language]
        for objective, group in here.groupby("objective", sort=False):
            curve = group.groupby("layer_index_source")["cka"].mean()  # over pretraining seeds
            panel.plot(curve.index, curve.to_numpy(), marker="o", label=objective)
        null = here.groupby("layer_index_source")["cka_shuffled"].mean()
        panel.plot(null.index, null.to_numpy(), color="grey", linestyle="--", label="shuffled (null)")
        panel.set_xticks(layers["layer_index_source"], layers["layer_source"], rotation=45, fontsize=7)
        panel.set_title(language, fontsize=9)
        panel.set_ylim(0, 1.02)
    axes[0][0].set_ylabel(f"CKA(source, variant), {same['estimator'].iloc[0]}")
    axes[0][-1].legend(fontsize=7)
    figure.suptitle(f"{same['model'].iloc[0]}: similarity to the source model by layer", fontsize=10)
    figure.tight_layout()
    save(figure, output_path)


def spectra_curves(*, paths: Sequence[PathLike], output_path: PathLike) -> None:
    """Mean singular value by rank over the matrices of each module type, source against its variants."""
    frame = read_frames(paths)
    kinds = sorted(frame["module_type"].unique())
    columns = min(4, len(kinds))
    rows = -(-len(kinds) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), squeeze=False)
    objectives = ordered(frame["objective"])
    for panel, kind in zip(axes.flat, kinds, strict=False):
        curves = frame[frame["module_type"] == kind].groupby(["objective", "rank"])["singular_value"].mean()
        for objective in objectives:
            if objective in curves.index.get_level_values(0):
                curve = curves.loc[objective]
                panel.plot(curve.index, curve.to_numpy(), label=objective,
                           linewidth=2.0 if objective == SOURCE else 1.0)
        panel.set_title(kind, fontsize=9)
        panel.set_yscale("log")
        panel.set_xlabel("rank")
    for panel in list(axes.flat)[len(kinds):]:
        panel.axis("off")
    axes[0][0].set_ylabel("singular value (mean over matrices)")
    axes[0][0].legend(fontsize=7)
    figure.suptitle(f"{frame['model'].iloc[0]}: singular-value spectra by module type", fontsize=10)
    figure.tight_layout()
    save(figure, output_path)


def translation_bars(*, table_path: PathLike, model: str, output_path: PathLike) -> None:
    """chrF++ of each of ``model``'s objectives per direction (bars), the copy-the-source floor as a line."""
    frame = pd.read_csv(table_path, keep_default_na=False).set_index(["model", "objective"])
    prefix = score_column("chrf", "")
    directions = [name.removeprefix(prefix) for name in frame.columns if name.startswith(prefix)]
    rows = frame.loc[model]
    figure, axes = plt.subplots(figsize=(3.0 + 0.9 * len(directions), 3.2))
    width = 0.8 / len(rows)
    positions = np.arange(len(directions))
    for index, (objective, row) in enumerate(rows.iterrows()):
        axes.bar(positions + (index - (len(rows) - 1) / 2) * width,
                 [row[score_column("chrf", d)] for d in directions], width, label=objective)
    axes.hlines([frame.loc[COPY, score_column("chrf", d)] for d in directions], positions - 0.45,
                positions + 0.45, colors="black", linestyles="--", label="copy source (floor)")
    axes.set_xticks(positions, [arrow(d) for d in directions], fontsize=8)
    axes.set_ylabel("chrF++ (held-out test set)")
    axes.set_title(f"{model}: greedy translation by objective", fontsize=10)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    figure.tight_layout()
    save(figure, output_path)


def sweep_curves(*, frame: pd.DataFrame, baselines: pd.DataFrame, output_path: PathLike) -> None:
    """Zero-shot transfer (mean over the test languages, ± std over seeds) against the source-pretraining
    budget: one panel per family × task, one line per objective (one colour each across panels), the
    task's best surface baseline dashed."""
    models = [model for model in ordered(frame["model"]) if model != "baseline"]
    tasks, budgets = ordered(frame["task"]), sorted(frame["steps"].unique())
    objectives = ordered(frame[frame["model"] != "baseline"]["objective"])
    colours = dict(zip(objectives, plt.get_cmap("tab10").colors, strict=False))
    figure, axes = plt.subplots(len(models), len(tasks), figsize=(3.2 * len(tasks), 2.8 * len(models)),
                                squeeze=False)
    for row, model in zip(axes, models, strict=True):
        for panel, task in zip(row, tasks, strict=True):
            here = frame[(frame["model"] == model) & (frame["task"] == task)]
            for objective, group in here.groupby("objective", sort=False):
                group = group.sort_values("steps")
                panel.errorbar(group["steps"], group["mean"], yerr=group["std"].fillna(0), marker="o",
                               capsize=2, label=objective, color=colours[objective])
            best = baselines[baselines["task"] == task].sort_values("steps")
            if len(best):
                panel.plot(best["steps"], best["mean"], color="grey", linestyle="--",
                           label=f"best baseline ({best['objective'].iloc[0]})")
            panel.set_xscale("log")
            panel.set_xticks(budgets, [str(steps) for steps in budgets])
            panel.minorticks_off()
            panel.set_title(f"{model} / {task}", fontsize=9)
            panel.legend(fontsize=6)
        row[0].set_ylabel("zero-shot avg (%)")
    for panel in axes[-1]:
        panel.set_xlabel("source pretraining steps")
    figure.tight_layout()
    save(figure, output_path)
