"""Reading a task split back: what the fine-tuning jobs need of the data, without the writers.

The writers (mtbridge.data for the synthetic world, mtbridge.xglue for XGLUE) import what makes the
data; a job that only reads a split reaches this module and the schemas (see tests/test_fingerprints.py).
"""

from __future__ import annotations

import pyarrow as pa

from mtbridge.aliases import PathLike
from mtbridge.io import read_parquet
from mtbridge.tasks import schema_for


def read_task_split(path: PathLike, kind: str) -> pa.Table:
    """Read a task split; a file of another kind fails with one line that names it."""
    schema = schema_for(kind)
    table = read_parquet(path, schema)
    for field in schema:
        found = table.schema.field(field.name).type
        if found != field.type:
            raise ValueError(f"{path}: column {field.name!r} is {found}, expected {field.type} "
                             f"for a {kind} split")
    return table
