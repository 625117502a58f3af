"""What each pretraining objective read, from the checkpoints' own training records.

The continued objectives of a family share one budget in tokens (encoder plus decoder side); this
table shows that the budget held on the data actually read, and what it cost in steps and sequences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from mtbridge.aliases import PathLike
from mtbridge.io import read_json, write_text
from mtbridge.models import TRAINING_FILE
from mtbridge.tabular import pipe_table, titled, without_empty_columns
from mtbridge.training import budget_tokens

TOLERANCE = 0.02  # the largest relative gap between continued objectives that still counts as equal
COLUMNS = ["model", "objective", "seed", "steps", "sequences", "encoder_tokens", "decoder_tokens",
           "budget_tokens",
           "vs_budget"]


def read_record(checkpoint_dir: PathLike, seq2seq: bool) -> dict:
    """Steps, sequences and tokens of one checkpoint; a masked LM has no decoder side."""
    record = read_json(Path(checkpoint_dir) / TRAINING_FILE)
    missing = [key for key in ("steps", "sequences", "tokens", "target_tokens") if key not in record]
    if missing:
        raise ValueError(f"{checkpoint_dir}/{TRAINING_FILE}: no {missing} in the training record")
    return {"objective": record["objective"], "seed": record["seed"], "steps": record["steps"],
            "sequences": record["sequences"],
            "encoder_tokens": record["tokens"], "decoder_tokens": record["target_tokens"] if seq2seq else 0,
            "budget_tokens": budget_tokens(record, seq2seq)}


def budget_frame(checkpoints: Mapping[str, Sequence[str]], seq2seq: Mapping[str, bool],
                 budget: int) -> pd.DataFrame:
    """One row per checkpoint (``checkpoints[model]`` lists its folders), ``vs_budget`` the share of
    the configured continued budget read (NaN for the source, which has its own schedule)."""
    rows = [{"model": model, **read_record(path, seq2seq[model])}
            for model, paths in checkpoints.items() for path in paths]
    frame = pd.DataFrame(rows, columns=COLUMNS[:-1])
    continued = frame["objective"] != "source"
    frame["vs_budget"] = (frame["budget_tokens"] / budget).where(continued)
    return frame


def unequal(frame: pd.DataFrame) -> list[str]:
    """Families whose continued objectives read budgets more than ``TOLERANCE`` apart."""
    continued = frame[frame["objective"] != "source"].groupby("model")["budget_tokens"]
    spread = continued.max() / continued.min() - 1
    return sorted(spread[spread > TOLERANCE].index)


def budget_markdown(frame: pd.DataFrame, budget: int, study: Mapping[str, str]) -> str:
    """The budget table under its study's caption and a legend."""
    def cell(name: str, value: object) -> str:
        if isinstance(value, float):
            return f"{value:.3f}"
        return f"{value:,}" if isinstance(value, int) and name != "seed" else str(value)

    lines = [COLUMNS, ["---", "---", "---", *["---:"] * (len(COLUMNS) - 3)]]
    lines += [[cell(name, value) if not pd.isna(value) else "–"
               for name, value in zip(COLUMNS, row, strict=True)]
              for row in frame[COLUMNS].astype(object).itertuples(index=False)]
    return (titled("Pretraining budgets", study) + "\n"
            f"Every continued objective of a family reads {budget:,} tokens (encoder plus decoder side, "
            "counted on the batches drawn), so steps differ where the data does (documents are longer "
            f"than sentence pairs). `vs_budget` = tokens read / budget; equal means within {TOLERANCE:.0%}. "
            "A masked LM has no decoder side.\n\n" + pipe_table(lines))


def write_budget_table(*, checkpoints: Mapping[str, Sequence[str]], seq2seq: Mapping[str, bool], budget: int,
                       study: Mapping[str, str], csv_path: PathLike,
                       markdown_path: PathLike) -> None:
    """Write the budget table; the Markdown says plainly if a family's budgets were not equal (a
    budget of only a few batches overshoots by up to one batch)."""
    frame = budget_frame(checkpoints, seq2seq, budget)
    families = unequal(frame)
    verdict = (f"**Not equal** for {', '.join(families)}: raise `continued_pretraining.tokens` to many "
               "batches." if families else f"Equal within {TOLERANCE:.0%} in every family.")
    csv = without_empty_columns(frame).to_csv(index=False, float_format="%.4f", lineterminator="\n")
    write_text(csv, csv_path)
    write_text(budget_markdown(frame, budget, study) + f"\n{verdict}\n", markdown_path)
