"""What made each artifact: per-job settings files, code fingerprints, and provenance records.

Snakemake decides reruns from file mtimes plus metadata in `.snakemake/metadata`; a fresh clone has no
metadata and `dvc pull` gives files new mtimes, so a config change after clone + pull would go unseen.
Each job therefore reads its parameters from a small JSON file (an input), written while the DAG is built
and rewritten only when its content changes: its params, the library function it runs, a fingerprint
of the library code that function can reach, and one of the job script its rule runs. A changed setting,
library module or job script makes exactly those files newer than their jobs' outputs, on any machine,
with or without metadata.

This module imports only the standard library (job scripts import it before the warm worker forks).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from mtbridge.aliases import PathLike

PACKAGE = Path(__file__).resolve().parent
SETTINGS_ROOT = ".mtbridge/settings"
RECONCILED = ".mtbridge/reconciled.json"  # written by mark_up_to_date: pulled artifacts are current
# the versions each record names: what can change numbers (mtbridge.environment.FINGERPRINT), and the tools
LIBRARIES = ("torch", "transformers", "tokenizers", "datasets", "numpy", "scikit-learn", "sacrebleu", "scipy",
             "safetensors", "snakemake", "dvc")


def _imported_modules(source: str) -> set[str]:
    """mtbridge modules named by the import statements of ``source``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mtbridge"):
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("mtbridge"))
    return {name for name in names if _module_file(name).exists()}


def _module_file(module: str) -> Path:
    return PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")


@cache
def module_closure(module: str) -> tuple[str, ...]:
    """``module`` and every mtbridge module it imports, transitively, sorted."""
    seen, pending = set(), [module]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(_imported_modules(_module_file(name).read_text(encoding="utf-8")))
    return tuple(sorted(seen))


@cache
def code_fingerprint(function: str) -> str:
    """sha256 over the sources of the modules ``"package.module:function"`` can reach: a change to any of
    them reruns the jobs of that function, a change elsewhere does not."""
    module = function.partition(":")[0]
    if not _module_file(module).exists():
        raise ValueError(f"job function {function!r}: no module {module} in {PACKAGE}")
    digest = hashlib.sha256()
    for name in module_closure(module):
        digest.update(name.encode() + b"\0" + _module_file(name).read_bytes() + b"\0")
    return digest.hexdigest()


def settings_path(function: str, wildcards: dict[str, str]) -> str:
    """Where a job's settings live: by function name and wildcard values, in wildcard order."""
    parts = [function.partition(":")[2], *(str(value) for value in wildcards.values())]
    return "/".join([SETTINGS_ROOT, *parts]) + ".json"


@cache
def script_fingerprint(path: PathLike, root: PathLike) -> dict[str, str]:
    """The job script a rule runs (``workflow_scripts/<x>.py``): its path relative to the workflow's
    ``root`` (the same on every machine) and the sha256 of its bytes. In the settings record, an edit
    to the script reruns that rule's jobs on any machine, without Snakemake's metadata."""
    path = Path(path)
    return {"path": Path(os.path.relpath(path, root)).as_posix(),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def settings_record(function: str, params: dict[str, Any],
                    script: dict[str, str] | None = None) -> dict[str, Any]:
    """A job's settings: its library function, that function's code fingerprint, its params and (from
    the rules) the fingerprint of the script it runs (``script_fingerprint``)."""
    record = {"function": function, "code": code_fingerprint(function), "params": params}
    if script is not None:
        record["script"] = script
    return record


def write_if_changed(record: dict[str, Any], path: PathLike) -> None:
    """Write ``record`` as sorted JSON unless the file already holds exactly that (keeps its mtime)."""
    text = json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    target = Path(path)
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


def read_settings(path: PathLike) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def config_hash(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def code_version(root: Path = PACKAGE.parent) -> str:
    """The git commit of the checkout (``+dirty`` with uncommitted changes), or ``unknown``."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def device() -> str:
    """The device jobs compute on: the CUDA device name where torch sees one, else the CPU."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(0)}"
    return f"cpu:{platform.machine()}"


def input_provenance(path: str) -> dict[str, Any]:
    """An input and, where it has a record, what made it: tables thereby carry their inputs' provenance."""
    record_path = provenance_path(path)
    if not record_path.exists():
        return {"path": path}
    record = read_settings(record_path)
    return {"path": path, **{key: record[key] for key in ("function", "config_hash", "code_version")}}


def provenance(settings: dict[str, Any], inputs: dict[str, str | list[str]],
               settings_file: str | None = None) -> dict[str, Any]:
    """The record stored beside an artifact: what made it, from what, with which code and libraries, and
    the job's settings file (which mtbridge.environment touches to remake it in another environment)."""
    params = settings["params"]
    return {
        "function": settings["function"], "code_fingerprint": settings["code"],
        "script": settings.get("script"), "settings_file": settings_file,
        "code_version": code_version(), "config": params, "config_hash": config_hash(params),
        "seed": params.get("seed"), "libraries": library_versions(), "device": device(),
        "revision": params.get("revision"),
        "inputs": {name: [input_provenance(path) for path in value] if isinstance(value, list)
                   else input_provenance(value) for name, value in inputs.items()},
    }


def provenance_path(output: PathLike) -> Path:
    """Inside a directory artifact; beside a file artifact (``x.parquet`` -> ``x.provenance.json``)."""
    output = Path(output)
    if output.is_dir():
        return output / "provenance.json"
    return output.with_name(output.name.split(".")[0] + ".provenance.json")


def mark_up_to_date(root: PathLike = ".") -> int:
    """Give every artifact file and folder under ``root`` one mtime, now; returns how many were set.

    Only for right after `dvc pull` + a clean `dvc status` (scripts/pull.sh), once the DAG has written
    the settings files: DVC has then vouched that the artifacts match this code and config, and one
    shared mtime later than every settings file means no input is newer than its outputs. (What
    `snakemake --touch` does, job by job; measured 48 s for the default study's 372 jobs, this < 1 s.)
    """
    from mtbridge.paths import ARTIFACT_FOLDERS

    now, count = time.time(), 0
    for folder in ARTIFACT_FOLDERS:
        for directory, _, files in os.walk(Path(root) / folder):
            for name in files:
                os.utime(Path(directory) / name, (now, now))
            os.utime(directory, (now, now))
            count += len(files) + 1
    write_if_changed({"reconciled": True}, Path(root) / RECONCILED)
    return count


def check_artifacts_have_a_record(root: PathLike = ".") -> None:
    """Stop, in one line, before Snakemake plans to recompute artifacts it has no record of.

    After `git clone` + a plain `dvc pull` every artifact is there with a fresh mtime but Snakemake has
    no metadata for it, so it would rerun the whole study (days of GPU time at paper scale).
    scripts/pull.sh reconciles them (mark_up_to_date leaves a marker); a study Snakemake ran here
    has its metadata. Either passes.
    """
    root = Path(root)
    pulled = any(any((root / folder).iterdir()) for folder in ("results", "metrics", "checkpoints")
                 if (root / folder).is_dir())
    metadata = root / ".snakemake" / "metadata"
    recorded = (metadata.is_dir() and any(metadata.iterdir())) or (root / RECONCILED).exists()
    if pulled and not recorded:
        raise SystemExit(f"{root.resolve()}: artifacts without Snakemake's records (from `dvc pull`?): run "
                         "scripts/pull.sh to mark them up to date, or every job would run again")
