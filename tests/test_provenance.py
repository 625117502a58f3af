"""Settings files, code fingerprints and provenance records: what makes reruns exact across machines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mtbridge import provenance


def test_module_closure_follows_imports_transitively() -> None:
    closure = provenance.module_closure("mtbridge.figures")
    assert {"mtbridge.figures", "mtbridge.analysis", "mtbridge.similarity", "mtbridge.io"} <= set(closure)
    assert "mtbridge.finetuning" not in closure
    assert provenance.module_closure("mtbridge.io") == ("mtbridge.aliases", "mtbridge.io")


def test_code_fingerprint_names_a_missing_module() -> None:
    assert len(provenance.code_fingerprint("mtbridge.figures:spectra_curves")) == 64
    with pytest.raises(ValueError, match="no module mtbridge.nothing"):
        provenance.code_fingerprint("mtbridge.nothing:f")


def test_settings_file_is_rewritten_only_when_its_content_changes(tmp_path: Path) -> None:
    path = tmp_path / "settings" / "job.json"
    record = provenance.settings_record("mtbridge.io:write_json", {"b": 1, "a": [1, 2]})
    provenance.write_if_changed(record, path)
    os.utime(path, (1_000_000, 1_000_000))
    provenance.write_if_changed(dict(reversed(list(record.items()))), path)  # same content, other order
    assert path.stat().st_mtime == 1_000_000
    provenance.write_if_changed({**record, "params": {"b": 2}}, path)
    assert path.stat().st_mtime > 1_000_000
    assert provenance.read_settings(path)["params"] == {"b": 2}
    assert provenance.settings_path("mtbridge.x:job", {"model": "m", "seed": "1"}) == \
        ".mtbridge/settings/job/m/1.json"


def test_provenance_record_and_where_it_goes(tmp_path: Path) -> None:
    settings = provenance.settings_record("mtbridge.io:write_json", {"seed": 3})
    upstream = tmp_path / "a.parquet"
    provenance.write_if_changed(provenance.provenance(settings, {}), provenance.provenance_path(upstream))
    record = provenance.provenance(settings, {"corpora": [str(upstream)], "other": "b.parquet"})
    assert record["seed"] == 3 and record["config_hash"] == provenance.config_hash({"seed": 3})
    assert {"torch", "snakemake", "dvc", "python"} <= set(record["libraries"])
    assert record["device"].startswith(("cpu", "cuda"))
    assert record["inputs"]["other"] == {"path": "b.parquet"}
    assert record["inputs"]["corpora"] == [{"path": str(upstream), "function": "mtbridge.io:write_json",
                                            "config_hash": record["config_hash"],
                                            "code_version": record["code_version"]}]
    (tmp_path / "checkpoint").mkdir()
    assert provenance.provenance_path(tmp_path / "checkpoint") == tmp_path / "checkpoint" / "provenance.json"
    assert provenance.provenance_path(tmp_path / "en.parquet") == tmp_path / "en.provenance.json"


def test_mark_up_to_date_gives_every_artifact_one_mtime(tmp_path: Path) -> None:
    for name, when in (("data/a/x.parquet", 10), ("results/tables/t.csv", 20), ("logs/l.log", 30)):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (when, when))
    assert provenance.mark_up_to_date(tmp_path) == 6  # 2 files + data, data/a, results, results/tables
    times = {(tmp_path / name).stat().st_mtime for name in ("data/a/x.parquet", "results/tables/t.csv",
                                                            "data", "results/tables")}
    assert len(times) == 1 and times.pop() > 30
    assert (tmp_path / "logs/l.log").stat().st_mtime == 30  # not an artifact folder
