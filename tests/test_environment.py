"""The environment is part of the result: the lock an install matches, and artifacts made with other
versions of the libraries that can change numbers (warned about, or made again when strict)."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT
from packaging.requirements import Requirement
from snakemake_runner import copy_workflow, planned_jobs, snakemake

from mtbridge import environment, provenance

LOCK = ROOT / "requirements" / "lock.txt"
MICRO = ROOT / "configs" / "micro.yaml"


def test_locked_versions_reads_pins_past_hashes_and_comments(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text("# header\nFlufl.Lock==9.2.0 \\\n    --hash=sha256:ab\n    # via dvc\n"
                    "moto[server]==5.2.5 ; python_version >= '3.9'\n--find-links x\n")
    assert environment.locked_versions(lock) == {"flufl-lock": "9.2.0", "moto": "5.2.5"}
    assert environment.lock_mismatches({"flufl-lock": "9.2.0", "moto": "5.2.5"},
                                       {"flufl-lock": "9.2.0", "moto": "5.3.0"}) == [
        "moto: locked 5.2.5, installed 5.3.0"]
    assert environment.lock_mismatches({"numpy": "2.4.6"}, {}) == ["numpy: locked 2.4.6, installed nothing"]


def test_the_lock_pins_every_dependency_but_torch_and_no_cuda_package() -> None:
    locked = environment.locked_versions(LOCK)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {environment.canonical_name(Requirement(requirement).name)
              for requirement in [*project["dependencies"], *project["optional-dependencies"]["test"]]}
    assert wanted - {"torch"} <= set(locked), sorted(wanted - set(locked))
    assert "torch" not in locked and "triton" not in locked
    assert not [name for name in locked if name.startswith("nvidia")]


def test_this_environment_is_the_locked_one() -> None:
    """What scripts/install.sh checks after installing; here for the venv the suite runs in."""
    locked = environment.locked_versions(LOCK)
    assert environment.lock_mismatches(locked, environment.installed_versions()) == []


def test_every_fingerprint_library_is_in_the_provenance_record() -> None:
    assert set(environment.FINGERPRINT) <= set(provenance.LIBRARIES)
    assert set(environment.FINGERPRINT) <= set(provenance.library_versions())


def made_with(root: Path, versions: dict[str, str], name: str = "a") -> Path:
    """An artifact of ``root`` whose record names ``versions`` (over this environment's) and its
    settings file; returns the settings file, given an mtime in the past."""
    settings = root / ".mtbridge" / "settings" / "job" / f"{name}.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("{}\n")
    os.utime(settings, (1_000_000, 1_000_000))
    artifact = root / "data" / "corpora" / f"{name}.parquet"
    artifact.parent.mkdir(parents=True, exist_ok=True)
    artifact.write_text("x")
    record = {"libraries": {**provenance.library_versions(), **versions},
              "settings_file": str(settings.relative_to(root))}
    provenance.provenance_path(artifact).write_text(json.dumps(record))
    return settings


def test_an_artifact_of_another_transformers_is_named_and_kept(tmp_path: Path) -> None:
    here = provenance.library_versions()["transformers"]
    settings = made_with(tmp_path, {"transformers": "4.0.0"})
    made_with(tmp_path, {}, name="b")
    line = environment.check_environment(tmp_path, "warn")
    assert line == (f"mtbridge: 1 artifact(s) in {tmp_path} made in another environment, transformers "
                    f"4.0.0 (here {here}): kept as they are (reproduction.environment: rerun would make them "
                    "again)")
    assert settings.stat().st_mtime == 1_000_000


def test_strict_mode_reruns_the_job_that_made_it(tmp_path: Path) -> None:
    settings = made_with(tmp_path, {"transformers": "4.0.0", "numpy": "1.0"})
    untouched = made_with(tmp_path, {}, name="b")
    line = environment.check_environment(tmp_path, "rerun")
    assert line is not None and "transformers 4.0.0" in line and "numpy 1.0" in line
    assert "their 1 job(s) run again" in line
    assert settings.stat().st_mtime > 1_000_000 and untouched.stat().st_mtime == 1_000_000


def test_nothing_is_reported_when_versions_match(tmp_path: Path) -> None:
    made_with(tmp_path, {})
    made_with(tmp_path, {"seqeval": "0.1", "python": "3.0"}, name="b")  # not in the fingerprint
    old = tmp_path / "checkpoints" / "m"
    old.mkdir(parents=True)
    torch_here = provenance.library_versions()["torch"]
    (old / "provenance.json").write_text(json.dumps({"libraries": {"torch": torch_here}}))  # an older record
    assert environment.check_environment(tmp_path, "rerun") is None


@pytest.mark.workflow
def test_the_workflow_warns_or_reruns_the_job_of_another_environment(tmp_path: Path) -> None:
    """The micro DAG, planned: an English corpus made with another transformers is named in one line
    and kept; with reproduction.environment=rerun its job is planned again."""
    workdir = copy_workflow(tmp_path / "workflow")
    study = workdir / "studies" / "micro"
    arguments = ("-n", "--configfile", str(MICRO))
    first = planned_jobs(snakemake(workdir, *arguments))["language_corpora"]
    outputs = [study / "data/corpora/monolingual/en.parquet", study / "data/corpora/evaluation/en.parquet"]
    record = {"libraries": {**provenance.library_versions(), "transformers": "4.0.0"},
              "settings_file": ".mtbridge/settings/write_language_corpora/en.json"}
    for output in outputs:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("x")
        provenance.provenance_path(output).write_text(json.dumps(record))
    kept = snakemake(workdir, *arguments)
    assert planned_jobs(kept)["language_corpora"] == first - 1
    assert f"2 artifact(s) in {study} made in another environment, transformers 4.0.0" in kept.stderr
    rerun = snakemake(workdir, *arguments, "--config", "reproduction={environment: rerun}")
    assert planned_jobs(rerun)["language_corpora"] == first, rerun.stderr[-2000:]
    assert "their 1 job(s) run again" in rerun.stderr
