"""Type aliases shared across the package: standard library only, so any module may import them."""

from __future__ import annotations

import os

PathLike = str | os.PathLike
"""A file or folder: a ``str`` or anything ``os.fspath`` accepts (``pathlib.Path``)."""
