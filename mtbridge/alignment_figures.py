"""The alignment figure (issue #15, part 4): bitext retrieval and language-ID probe accuracy by layer.

A module of its own beside ``figures`` so that adding it reran none of the existing figure jobs.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt

from mtbridge.aliases import PathLike
from mtbridge.analysis import SOURCE, read_frames
from mtbridge.figures import save

MEASURES = (("retrieval", "bitext retrieval accuracy"), ("language_probe", "language-ID probe accuracy"))


def alignment_curves(*, paths: Sequence[PathLike], output_path: PathLike, train_language: str) -> None:
    """Retrieval and the en-vs-X probe by layer, one line per objective of a family (mean over the other
    languages, both retrieval directions and pretraining seeds); dashed grey: the shuffled null."""
    frame = read_frames(paths)
    pairwise = frame[(frame["language_a"] == train_language) & (frame["language_b"] != "all")
                     | (frame["language_b"] == train_language)]
    figure, axes = plt.subplots(1, 2, figsize=(7.0, 3.0), squeeze=False)
    layers = pairwise.drop_duplicates("layer_index").sort_values("layer_index")
    for panel, (measure, label) in zip(axes[0], MEASURES, strict=True):
        here = pairwise[pairwise["measure"] == measure]
        for objective, group in here.groupby("objective", sort=False):
            curve = group.groupby("layer_index")["value"].mean()
            panel.plot(curve.index, curve.to_numpy(), marker="o", label=objective,
                       linewidth=2.0 if objective == SOURCE else 1.0)
        null = here.groupby("layer_index")["shuffled"].mean()
        panel.plot(null.index, null.to_numpy(), color="grey", linestyle="--", label="shuffled (null)")
        panel.set_xticks(layers["layer_index"], layers["layer"], rotation=45, fontsize=7)
        panel.set_ylim(0, 1.02)
        panel.set_ylabel(label, fontsize=8)
    axes[0][0].legend(fontsize=6)
    figure.suptitle(f"{frame['model'].iloc[0]}: alignment by layer ({train_language} vs X; higher retrieval "
                    "and lower probe = more language-agnostic)", fontsize=9)
    figure.tight_layout()
    save(figure, output_path)
