"""What every table of the pipeline shares: pipe tables, the study caption, a unique best, lean CSVs.

Kept small and free of the library's heavy modules on purpose: the table writers of ``tables``,
``translation``, ``budget`` and ``analysis`` import it, so an edit here reruns those table jobs and
nothing else (a job's code fingerprint covers the modules it imports; see ``mtbridge.provenance``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd


def pipe_table(lines: Iterable[Sequence[str]]) -> str:
    """GitHub Markdown table rows from lines of cells (header, alignment rule, body)."""
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n"


def study_caption(study: Mapping[str, str]) -> str:
    """Which study a table came from: its name and the hash of its config (less the scheduling keys)."""
    return f"Study `{study['name']}` (config {study['config_hash']})."


def titled(title: str, study: Mapping[str, str]) -> str:
    """A Markdown file's title, then the caption naming its study."""
    return f"# {title}\n\n{study_caption(study)}\n"


def unique_best(values: pd.Series) -> pd.Series:
    """True where the highest value stands alone; a tie for the best marks no row, and NaN never."""
    best = values == values.max()
    return best & (best.sum() == 1)


def without_empty_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` less the columns that are NaN in every row (e.g. a std where every cell has one seed)."""
    return frame if frame.empty else frame.dropna(axis=1, how="all")
