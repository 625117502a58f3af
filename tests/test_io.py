"""Atomic writers: an interrupted write leaves neither the target nor a temporary file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mtbridge.io import atomic_directory, atomic_path, read_parquet, write_json, write_parquet


def test_failed_file_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_failed_directory_write_keeps_the_previous_version(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint"
    with atomic_directory(target) as tmp:
        (tmp / "weights").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "weights").write_text("new, half written")
        raise RuntimeError("killed")
    assert (target / "weights").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint"]


def test_json_bytes_do_not_depend_on_key_order(tmp_path: Path) -> None:
    write_json({"b": 1, "a": [1, 2]}, tmp_path / "one.json")
    write_json({"a": [1, 2], "b": 1}, tmp_path / "two.json")
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()


def test_parquet_missing_column_is_named(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.string()), ("text", pa.string())])
    write_parquet([{"id": "1"}], tmp_path / "t.parquet", pa.schema([("id", pa.string())]))
    with pytest.raises(ValueError, match=r"t\.parquet: missing column\(s\) \['text'\]"):
        read_parquet(tmp_path / "t.parquet", schema)
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(ValueError, match="bad.parquet: not a readable Parquet file"):
        read_parquet(tmp_path / "bad.parquet")


def test_parquet_dictionary_encodes_repeated_labels_but_not_floats(tmp_path: Path) -> None:
    """A float column's dictionary is built only to be dropped: 45 MB of a 200,000-row spectra write."""
    table = pa.table({"label": ["a", "b"] * 500, "value": [float(i) / 7 for i in range(1000)],
                      "scores": [[0.25, 0.75]] * 1000, "rank": list(range(1000))})
    write_parquet(table, tmp_path / "t.parquet")
    row_group = pq.ParquetFile(tmp_path / "t.parquet").metadata.row_group(0)
    dictionary = {row_group.column(i).path_in_schema: row_group.column(i).dictionary_page_offset is not None
                  for i in range(row_group.num_columns)}
    assert dictionary == {"label": True, "value": False, "scores.list.element": False, "rank": True}
    assert read_parquet(tmp_path / "t.parquet").equals(table)
