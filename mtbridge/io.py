"""Atomic, deterministic writers.

Every artifact is written to a temporary sibling and renamed into place, so a
killed job never leaves a file that Snakemake (or a colleague) would take as
complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mtbridge.aliases import PathLike


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()
_FILE_MODE = 0o666 & ~_UMASK
_DIRECTORY_MODE = 0o777 & ~_UMASK


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        tmp_path.chmod(_FILE_MODE)  # mkstemp makes 0600; artifacts are shared, so honour the umask
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path: PathLike) -> Iterator[Path]:
    """Yield a temporary directory next to ``path``; swap it into place on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp_path
        tmp_path.chmod(_DIRECTORY_MODE)  # mkdtemp makes 0700
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            shutil.rmtree(tmp_path)


def write_json(obj: Any, path: PathLike) -> None:
    """Write JSON with sorted keys so equal content gives equal bytes."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def read_json(path: PathLike) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_text(text: str, path: PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_parquet(rows: list[dict] | pa.Table | pd.DataFrame, path: PathLike,
                  schema: pa.Schema | None = None) -> None:
    """Write rows (or a table, or a data frame) as Parquet with a fixed schema, atomically.

    Floating-point columns are not dictionary-encoded: their values rarely repeat, so the dictionary is
    built and then dropped (writing a 200,000-row spectra table peaked 45 MB above the table with it,
    11 MB without, and the file was 14% smaller)."""
    if isinstance(rows, pd.DataFrame):
        table = pa.Table.from_pandas(rows, schema=schema, preserve_index=False)
    else:
        table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=schema)
    if schema is not None and not table.schema.equals(schema):
        table = table.cast(schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", use_dictionary=[
            field.name for field in table.schema if not pa.types.is_floating(leaf_type(field.type))])


def leaf_type(data_type: pa.DataType) -> pa.DataType:
    """The type of a column's values, through any lists (``list<list<double>>`` → ``double``)."""
    while pa.types.is_list(data_type) or pa.types.is_large_list(data_type) or \
            pa.types.is_fixed_size_list(data_type):
        data_type = data_type.value_type
    return data_type


def read_parquet(path: PathLike, schema: pa.Schema | None = None) -> pa.Table:
    """Read a Parquet file, failing with one line that names the file if it is not what we expect."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise ValueError(f"{path}: not a readable Parquet file ({error})") from None
    if schema is not None:
        missing = [name for name in schema.names if name not in table.column_names]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; expected {schema.names}")
        table = table.select(schema.names)
    return table
