"""Cheap checks of the files a config points at: checkpoint folders, Parquet datasets, the XGLUE release.

They read headers and metadata only (a safetensors header, a Parquet footer, a tar header), so they run
while the DAG is built and again first thing in the job that reads the files: a missing, empty or
truncated file fails in one line naming it, before any download finishes or any compute starts.
Each raises ``ValueError`` with a message that starts with the file.
"""

from __future__ import annotations

import json
import struct
import tarfile
from collections.abc import Iterable
from pathlib import Path

from mtbridge.aliases import PathLike

# config `architecture` -> transformers `model_type` (mtbridge.models builds the models)
MODEL_TYPES = {"mbart": "mbart", "xlm-roberta": "xlm-roberta", "bert": "bert", "nllb": "m2m_100"}
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
TOKENIZER_PATTERNS = ("tokenizer.json", "tokenizer_config.json", "*.model", "vocab.txt")
SINUSOIDAL_TYPES = ("m2m_100",)  # positions computed, not learned: no table to run past
HEADER_BYTES = 8  # a safetensors file starts with its JSON header's length, a little-endian u64


def check_safetensors(path: Path) -> None:
    """The header parses and the tensors it declares fill the file exactly (a truncated copy does not)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        start = handle.read(HEADER_BYTES)
        if len(start) < HEADER_BYTES:
            raise ValueError(f"{path}: {size} bytes, too short for a safetensors file")
        (length,) = struct.unpack("<Q", start)
        if length > size - HEADER_BYTES:
            raise ValueError(f"{path}: truncated: the header alone declares {length} bytes, "
                             f"the file has {size}")
        try:
            header = json.loads(handle.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError(f"{path}: the safetensors header is not valid JSON") from None
    ends = [entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__"]
    expected = HEADER_BYTES + length + max(ends, default=0)
    if expected != size:
        raise ValueError(f"{path}: truncated or padded: the header declares {expected} bytes, "
                         f"the file has {size}")


def read_config_json(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        raise ValueError(f"{folder}: no config.json; expected a transformers checkpoint folder")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None


def matching(folder: Path, patterns: Iterable[str]) -> list[Path]:
    return sorted(path for pattern in patterns for path in folder.glob(pattern) if path.is_file())


def check_checkpoint_files(folder: Path) -> None:
    """Weights (every safetensors file whole, no empty file) and a tokenizer are there to load."""
    weights = matching(folder, WEIGHT_PATTERNS)
    if not weights:
        raise ValueError(f"{folder}: no weights (model.safetensors or pytorch_model.bin)")
    for path in weights:
        if path.stat().st_size == 0:
            raise ValueError(f"{path}: empty file")
        if path.suffix == ".safetensors":
            check_safetensors(path)
    if not matching(folder, TOKENIZER_PATTERNS):
        raise ValueError(f"{folder}: no tokenizer files (tokenizer.json, tokenizer_config.json, *.model)")


def position_limit(model_config: dict) -> int | None:
    """The longest input a checkpoint's learned position table holds; None where positions are computed."""
    kind, table = model_config.get("model_type"), model_config.get("max_position_embeddings")
    if kind in SINUSOIDAL_TYPES or not isinstance(table, int):
        return None
    if kind == "xlm-roberta":  # RoBERTa positions start after the padding index
        return table - model_config.get("pad_token_id", 1) - 1
    return table


def check_checkpoint(folder: PathLike, architecture: str, max_length: int | None = None) -> None:
    """A checkpoint folder the fetch job can load: config.json of ``architecture``, weights, tokenizer,
    and a position table long enough for ``max_length`` (else fine-tuning fails on its first batch)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a directory; expected a checkpoint folder")
    model_config = read_config_json(folder)
    found, expected = model_config.get("model_type"), MODEL_TYPES[architecture]
    if found != expected:
        raise ValueError(f"{folder} is a {found!r} checkpoint, but the family's architecture "
                         f"{architecture!r} expects {expected!r}")
    check_checkpoint_files(folder)
    limit = position_limit(model_config)
    if max_length is not None and limit is not None and max_length > limit:
        raise ValueError(f"{folder}/config.json: positions reach {limit} tokens, fewer than max_length "
                         f"{max_length}; lower max_length to at most {limit}")


def check_parquet(path: Path, columns: Iterable[str] = ()) -> None:
    """A Parquet file with a readable footer and the ``columns`` a job reads (no data is read)."""
    import pyarrow.parquet as pq

    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file")
    try:
        metadata = pq.read_metadata(path)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, … for a damaged footer
        raise ValueError(f"{path}: not a readable Parquet file ({str(error).splitlines()[0]})") from None
    names = metadata.schema.to_arrow_schema().names
    missing = [column for column in columns if column not in names]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {names}")
    if metadata.num_rows == 0:
        raise ValueError(f"{path}: no rows")


def check_dataset_folder(folder: PathLike) -> None:
    """A local dataset copy: a folder holding Parquet files, each with a readable footer."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a directory; expected a local copy of the dataset (Parquet files)")
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        raise ValueError(f"{folder}: no Parquet files; expected a local copy of the dataset")
    for path in files:
        check_parquet(path)


def check_release(path: PathLike) -> None:
    """The XGLUE release: a tarball (its first header readable) or a non-empty folder.

    Its sha256 is checked by the job that installs it (hashing gigabytes has no place in building a DAG).
    """
    path = Path(path).expanduser()
    if path.is_dir():
        if not any(path.iterdir()):
            raise ValueError(f"{path}: empty folder; expected the XGLUE release (xglue_full_dataset)")
        return
    if not path.is_file():
        raise ValueError(f"{path}: no such file or folder; expected the XGLUE release tarball or folder")
    if path.stat().st_size == 0 or not tarfile.is_tarfile(path):
        raise ValueError(f"{path}: not a tar archive; expected xglue_full_dataset.tar.gz or its folder")


def check_parallel_file(path: Path, source: str, target: str) -> None:
    """An OPUS-100-style file: a ``translation`` column holding both languages (read from the schema)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_parquet(path, ["translation"])
    column = pq.read_schema(path).field("translation").type
    sides = [field.name for field in column] if pa.types.is_struct(column) else []
    missing = [language for language in (source, target) if language not in sides]
    if missing:
        raise ValueError(f"{path}: the translation column holds {sides}, not {missing}")
