"""The software environment as part of a result: the lock an install must match, and the libraries whose
versions can change numbers.

scripts/install.sh installs every package but torch from ``requirements/lock.txt`` and then checks the
venv against it (``python -m mtbridge.environment --check-lock requirements/lock.txt``). Every provenance
record names the versions of the ``FINGERPRINT`` libraries that made its artifact; before a run the
workflow compares a study's records with this environment and names, in one line, what differs: a
warning (``reproduction.environment: warn``), or a rerun of the jobs that made them (``rerun``: their
settings files get a fresh mtime, which Snakemake reads as a changed input).

Standard library only, like mtbridge.provenance: the DAG imports it on every build.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from mtbridge.aliases import PathLike
from mtbridge.provenance import library_versions, read_settings

# what can change a job's numbers (kernels, tokenization, data loading, arrays, metrics, statistics)
FINGERPRINT = ("torch", "transformers", "tokenizers", "datasets", "numpy", "scikit-learn", "sacrebleu",
               "scipy")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^]]*\])?==([^\s;\\]+)")


def canonical_name(name: str) -> str:
    """PEP 503: ``Flufl.Lock`` and ``flufl_lock`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: PathLike) -> dict[str, str]:
    """Package -> version of each ``name==version`` line of a requirements lock."""
    pins = (_PIN.match(line) for line in Path(lock).read_text(encoding="utf-8").splitlines())
    return {canonical_name(pin[1]): pin[2] for pin in pins if pin}


def installed_versions() -> dict[str, str]:
    """Package -> version of every distribution this interpreter sees (what `pip freeze` lists): the
    first on the path where two are, as import would find it."""
    versions: dict[str, str] = {}
    for dist in metadata.distributions():
        versions.setdefault(canonical_name(dist.metadata["Name"]), dist.version)
    return versions


def lock_mismatches(locked: dict[str, str], installed: dict[str, str]) -> list[str]:
    """One line per locked package that is missing or at another version."""
    return [f"{name}: locked {version}, installed {installed.get(name, 'nothing')}"
            for name, version in sorted(locked.items()) if installed.get(name) != version]


def fingerprint(versions: dict[str, str]) -> dict[str, str]:
    """The FINGERPRINT libraries of a provenance record's ``libraries`` (or of library_versions())."""
    return {name: versions[name] for name in FINGERPRINT if name in versions}


def differences(recorded: dict[str, str], current: dict[str, str]) -> dict[str, str]:
    """Library -> recorded version, where it differs from the current one. Libraries a record does not
    name (records older than the fingerprint) are not compared."""
    return {name: version for name, version in fingerprint(recorded).items() if current.get(name) != version}


def provenance_records(root: PathLike) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every provenance record under the artifact folders of a study root."""
    from mtbridge.paths import ARTIFACT_FOLDERS

    for folder in ARTIFACT_FOLDERS:
        for directory, _, files in os.walk(Path(root) / folder):
            for name in files:
                if name == "provenance.json" or name.endswith(".provenance.json"):
                    path = Path(directory) / name
                    yield path, read_settings(path)


def made_elsewhere(root: PathLike, current: dict[str, str]) -> dict[Path, dict[str, Any]]:
    """The records of ``root`` whose fingerprint differs from ``current``."""
    return {path: record for path, record in provenance_records(root)
            if differences(record.get("libraries", {}), current)}


def describe(records: dict[Path, dict[str, Any]], current: dict[str, str]) -> str:
    """E.g. ``transformers 5.23.0 (here 5.24.0), numpy 2.4.5, 2.4.4 (here 2.4.6)``."""
    recorded: dict[str, set[str]] = {}
    for record in records.values():
        for name, version in differences(record["libraries"], current).items():
            recorded.setdefault(name, set()).add(version)
    return ", ".join(f"{name} {', '.join(sorted(recorded[name]))} (here {current.get(name, 'not installed')})"
                     for name in FINGERPRINT if name in recorded)


def rerun_jobs(root: PathLike, records: dict[Path, dict[str, Any]]) -> int:
    """Give the settings file of each job that made ``records`` a fresh mtime, so that Snakemake, which
    reruns a job whose input is newer than its outputs, remakes them. Returns how many jobs."""
    files = {record.get("settings_file") for record in records.values()} - {None}
    existing = [Path(root) / name for name in sorted(files) if (Path(root) / name).exists()]
    for path in existing:
        os.utime(path)
    return len(existing)


def check_environment(root: PathLike, mode: str) -> str | None:
    """The one line naming the libraries whose versions made artifacts under ``root`` differ from this
    environment's (None when none differ); in ``rerun`` mode the jobs that made them rerun."""
    current = fingerprint(library_versions())
    records = made_elsewhere(root, current)
    if not records:
        return None
    line = (f"mtbridge: {len(records)} artifact(s) in {Path(root).resolve()} made in another environment, "
            f"{describe(records, current)}: ")
    if mode == "rerun":
        return line + f"their {rerun_jobs(root, records)} job(s) run again (reproduction.environment: rerun)"
    return line + "kept as they are (reproduction.environment: rerun would make them again)"


def warn_about_environment(root: PathLike = ".", mode: str = "warn") -> None:
    """check_environment, printed to stderr (the workflow's and scripts/pull.sh's hook)."""
    line = check_environment(root, mode)
    if line:
        print(line, file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--check-lock", metavar="LOCK", help="exit 1 unless every locked version is installed")
    group.add_argument("--study", metavar="ROOT", help="warn about artifacts made in another environment")
    args = parser.parse_args(argv)
    if args.study:
        warn_about_environment(args.study)
        return
    locked = locked_versions(args.check_lock)
    mismatches = lock_mismatches(locked, installed_versions())
    if mismatches:
        raise SystemExit(f"the venv differs from {args.check_lock}:\n" + "\n".join(mismatches))
    print(f"all {len(locked)} packages of {args.check_lock} at their locked versions")


if __name__ == "__main__":
    main()
