"""Checkpoints and datasets from the Hugging Face hub, or from a local copy, with one-line errors offline.

A config names each external artifact by a reference: ``{id, revision}`` (a hub repository pinned to a
commit) or ``{path}`` (a local directory). Jobs resolve it to a local folder here, and only here, so
the DAG never downloads while it is built and a missing artifact fails before any compute. Offline
(``HF_HUB_OFFLINE``, or the hub's host unreachable, probed once in 3 s) only the local cache is read:
without the probe, huggingface_hub retries for 23-46 s before it gives up (measured on this machine).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import socket
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlparse

from mtbridge.aliases import PathLike

COMMIT = re.compile(r"^[0-9a-f]{40}$")
# where a dataset snapshot keeps split <split> of config <config>: the layouts the hub uses
PARQUET_LAYOUTS = ("{config}/{split}/*.parquet", "{config}/{split}.parquet", "{config}/{split}-*.parquet")
TRUE = ("1", "true", "yes", "on")


class HubUnavailable(RuntimeError):
    """A referenced model or dataset is neither in the local cache nor reachable."""


@functools.cache
def hub_offline() -> bool:
    """Whether to read the local cache only: ``HF_HUB_OFFLINE`` set, or the hub's host unreachable."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in TRUE:
        return True
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=3).close()
    except OSError:
        return True
    return False


def describe(ref: dict) -> str:
    return ref["path"] if "path" in ref else f"{ref['id']}@{ref['revision']}"


def snapshot(ref: dict, *, key: str, repo_type: str = "model",
             allow_patterns: Sequence[str] | None = None) -> Path:
    """The local folder holding ``ref``: its ``path``, or the hub snapshot at its revision.

    ``key`` is the config key that holds ``ref``; every error names it and says how to fix it.
    """
    if "path" in ref:
        path = Path(ref["path"]).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"config key {key}.path: {path} is not a directory; expected a "
                                    f"local copy of the {repo_type}")
        return path
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    offline = hub_offline()
    try:
        folder = snapshot_download(ref["id"], revision=ref["revision"], repo_type=repo_type,
                                   allow_patterns=list(allow_patterns) if allow_patterns else None,
                                   local_files_only=offline)
    except LocalEntryNotFoundError:
        raise HubUnavailable(
            f"config key {key}: {repo_type} {describe(ref)} is not (completely) in the local Hugging Face "
            f"cache ({constants.HF_HUB_CACHE}) and the hub is "
            f"{'switched off (HF_HUB_OFFLINE)' if os.environ.get('HF_HUB_OFFLINE') else 'unreachable'}; "
            f"fetch it where there is network (`hf download {ref['id']} --revision {ref['revision']}"
            f"{' --repo-type dataset' if repo_type == 'dataset' else ''}`) and copy the cache, "
            f"or set {key} to {{path: <local copy>}}"
        ) from None
    return Path(folder)


def repo_files(ref: dict) -> list[str] | None:
    """The files of a hub reference's revision, or None where the hub is not asked (a path, offline)."""
    if "path" in ref or hub_offline():
        return None
    from huggingface_hub import HfApi

    return HfApi().list_repo_files(ref["id"], revision=ref["revision"])


def snapshot_revision(folder: PathLike, ref: dict) -> str:
    """The commit a hub snapshot folder holds (its name), or ``local`` for a ``path`` reference."""
    if "path" in ref:
        return "local"
    name = Path(folder).name
    return name if COMMIT.match(name) else ref["revision"]


def parquet_files(root: PathLike, config: str, split: str) -> list[Path]:
    """The Parquet files of ``config``/``split`` in a local dataset snapshot, in shard order.

    Accepts the layouts the hub uses: ``<config>/<split>/*.parquet`` (refs/convert/parquet),
    ``<config>/<split>.parquet`` (e.g. FLORES+) and ``<config>/<split>-*.parquet`` (uploaded shards,
    e.g. OPUS-100). Two layouts at once would read the data twice, so that is an error.
    """
    root = Path(root)
    patterns = [layout.format(config=config, split=split) for layout in PARQUET_LAYOUTS]
    matches = [sorted(path for path in root.glob(pattern) if path.is_file()) for pattern in patterns]
    found = [(pattern, files) for pattern, files in zip(patterns, matches, strict=True) if files]
    if not found:
        raise FileNotFoundError(f"{root}: no Parquet files for config {config!r} split {split!r} "
                                f"(looked for {', '.join(patterns)})")
    if len(found) > 1:
        raise ValueError(f"{root}: config {config!r} split {split!r} matches more than one layout "
                         f"({', '.join(pattern for pattern, _ in found)})")
    return found[0][1]


@contextlib.contextmanager
def parquet_dataset(files: Sequence[Path]) -> Iterator:
    """The files as one ``datasets.Dataset``, cached under HF_DATASETS_CACHE or else a temp folder."""
    import datasets  # slow to import, and only the real study needs it

    with contextlib.ExitStack() as stack:
        cache_dir = None
        if not os.environ.get("HF_DATASETS_CACHE"):
            cache_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="mtbridge-datasets-"))
        yield datasets.load_dataset("parquet", data_files=[str(path) for path in files], split="train",
                                    cache_dir=cache_dir)


REFERENCE = re.compile(r"\{id: (?P<id>[^,{}\s]+), revision: (?P<revision>[^,{}\s]+)\}")


def pin_text(text: str, resolve) -> str:
    """``text`` (a config file) with every ``{id: X, revision: <branch or tag>}`` pinned to the commit
    ``resolve(X, revision)`` returns; references already at a commit are left alone."""
    def pinned(match: re.Match) -> str:
        if COMMIT.match(match["revision"]):
            return match[0]
        return f"{{id: {match['id']}, revision: {resolve(match['id'], match['revision'])}}}"
    return REFERENCE.sub(pinned, text)


def hub_commit(repo_id: str, revision: str) -> str:
    """The commit a hub model or dataset repository's ``revision`` is at now (needs network)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    api = HfApi()
    for repo_type in ("model", "dataset"):
        try:
            return api.repo_info(repo_id, revision=revision, repo_type=repo_type).sha
        except RepositoryNotFoundError:
            continue
    raise ValueError(f"{repo_id}: no model or dataset repository of that name on the hub")


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "pin":
        raise SystemExit("usage: python -m mtbridge.hub pin <config.yaml>  (rewrites branch revisions "
                         "as the commits they are at now)")
    config_path = Path(sys.argv[2])
    config_path.write_text(pin_text(config_path.read_text(encoding="utf-8"), hub_commit), encoding="utf-8")
