"""mtbridge.status: the settings diff behind a stale job, the ETA, parsing Snakemake's real output
(samples captured from Snakemake 9.27 on a small study), the onerror message, and the command end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from snakemake_runner import copy_workflow, environment, planned_jobs, snakemake

from mtbridge import status
from mtbridge.provenance import provenance_path, write_if_changed

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "samples" / "status"
FINETUNE = "mtbridge.finetuning:finetune"


def test_settings_changes_name_each_changed_key() -> None:
    recorded = {"settings": {"learning_rate": 0.001, "epochs": 8}, "languages": ["en"], "gone": 1}
    current = {"settings": {"learning_rate": 0.002, "epochs": 8}, "languages": ["en", "close"], "new": "x"}
    assert status.settings_changes(recorded, current) == [
        "gone 1 → (none)",
        'languages ["en"] → ["en", "close"]',
        'new (none) → "x"',
        "settings.learning_rate 0.001 → 0.002",
    ]
    assert status.settings_changes(recorded, recorded) == []


def made_job(folder: Path, recorded: dict, current: dict, code: tuple[str, str] = ("c", "c"),
             script: tuple[str, str] = ("s", "s")) -> status.Job:
    """A finetune job whose output was made with ``recorded``; its settings file now holds ``current``."""
    settings = ".mtbridge/settings/finetune/mbart/mt-m2m/1/topic/1.json"
    output = folder / "checkpoints/finetuned/mbart/mt-m2m/pretrain1/topic/seed1"
    output.mkdir(parents=True)
    scripts = [{"path": "workflow_scripts/finetune.py", "sha256": digest} for digest in script]
    write_if_changed({"function": FINETUNE, "code": code[1], "params": current, "script": scripts[1]},
                     folder / settings)
    write_if_changed({"function": FINETUNE, "code_fingerprint": code[0], "config": recorded,
                      "script": scripts[0]}, provenance_path(output))
    wildcards = {"model": "mbart", "objective": "mt-m2m", "pseed": "1", "task": "topic", "seed": "1"}
    return status.Job("finetune", inputs=["checkpoints/x", settings],
                      outputs=[str(output.relative_to(folder))], wildcards=wildcards,
                      reason=f"Updated input files: {settings}")


def test_a_changed_setting_is_named_from_the_settings_file_and_the_provenance_record(tmp_path: Path) -> None:
    job = made_job(tmp_path, {"settings": {"learning_rate": 0.001}}, {"settings": {"learning_rate": 0.002}})
    assert status.grouped_reasons([job], tmp_path) == [
        "finetune mbart/mt-m2m/1/topic/1: settings.learning_rate 0.001 → 0.002"]


def test_a_code_change_alone_names_the_jobs_module(tmp_path: Path) -> None:
    job = made_job(tmp_path, {"epochs": 8}, {"epochs": 8}, code=("old", "new"))
    reason = status.stale_reason(job, tmp_path)
    assert reason == "code of mtbridge.finetuning (or a module it imports) changed"


def test_a_changed_job_script_is_named(tmp_path: Path) -> None:
    job = made_job(tmp_path, {"epochs": 8}, {"epochs": 8}, script=("old", "new"))
    assert status.stale_reason(job, tmp_path) == "script workflow_scripts/finetune.py changed"


def test_missing_output_and_upstream_reruns(tmp_path: Path) -> None:
    upstream = status.Job("finetune", outputs=["a"], reason="Missing output files: a")
    downstream = status.Job("predict", inputs=["a"], outputs=["b"],
                            reason="Input files updated by another job: a")
    assert status.stale_reason(upstream, tmp_path) == "missing output"
    assert status.stale_reason(downstream, tmp_path, status.producers_of([upstream])) == (
        "after upstream reruns (finetune)")


def test_eta_shares_the_measured_work_over_the_cores() -> None:
    durations = {"finetune": [10.0, 30.0], "predict": [2.0]}
    # 3 finetune × 20 s + 4 predict × 2 s = 68 s of work on 2 cores
    assert status.eta_seconds({"finetune": 3, "predict": 4}, durations, cores=2) == pytest.approx(34.0)
    # a rule never measured takes the median of every measured job (10, 30, 2 → 10)
    assert status.eta_seconds({"spectra": 4}, durations, cores=4) == pytest.approx(10.0)
    # never less than the longest job, however many cores
    assert status.eta_seconds({"finetune": 1}, durations, cores=8) == pytest.approx(20.0)
    assert status.eta_seconds({"finetune": 0}, durations, cores=2) == 0.0
    assert status.eta_seconds({"finetune": 1}, {}, cores=2) is None
    assert status.format_duration(3725.4) == "1:02:05"


def test_durations_come_from_snakemake_metadata_once_per_job(tmp_path: Path) -> None:
    metadata = tmp_path / ".snakemake" / "metadata"
    metadata.mkdir(parents=True)
    job = {"rule": "predict", "log": ["logs/predict/x.log"], "endtime": 105.0, "incomplete": False}
    for name, start in (("predictions", 100.0), ("metrics", 100.001)):  # one job, two outputs
        (metadata / name).write_text(json.dumps({**job, "starttime": start}))
    (metadata / "running").write_text(json.dumps({"rule": "finetune", "starttime": 1.0, "incomplete": True}))
    assert status.rule_durations(tmp_path) == {"predict": [pytest.approx(5.0, abs=0.01)]}


def test_a_real_dry_run_is_parsed_into_jobs_and_counts() -> None:
    text = (SAMPLES / "dry_run.txt").read_text()
    jobs = status.planned_jobs(text)
    assert [job.rule for job in jobs] == ["finetune", "predict", "predict", "transfer_table"]
    finetune = jobs[0]
    assert finetune.label == "finetune xlmr/source/1/topic/1"
    assert finetune.settings == ".mtbridge/settings/finetune/xlmr/source/1/topic/1.json"
    assert finetune.outputs == ["checkpoints/finetuned/xlmr/source/pretrain1/topic/seed1"]
    assert finetune.reason.startswith("Updated input files: .mtbridge/settings/finetune/")
    assert status.parse_job_stats(text) == {"finetune": 1, "predict": 2, "transfer_table": 1, "all": 1}
    assert status.count_by_phase(status.parse_job_stats(text)) == {"finetuning": 3, "tables": 1}


def test_every_rule_of_the_workflow_has_a_phase() -> None:
    rules = {name for path in (ROOT / "rules").glob("*.smk")
             for name in re.findall(r"^\s*rule (\w+):", path.read_text(), re.MULTILINE)}
    assert {rule for rule in rules if status.phase_of(rule) == "other"} == set()


def copy_log(sample: str, root: Path) -> Path:
    log = root / ".snakemake" / "log" / sample
    log.parent.mkdir(parents=True)
    shutil.copy(SAMPLES / sample, log)
    return log


def test_the_failure_message_names_the_failed_jobs_logs_and_how_to_resume(tmp_path: Path) -> None:
    log = copy_log("failed_run.snakemake.log", tmp_path)
    message = status.failure_message([str(log)], tmp_path / "studies" / "nano")
    log = "studies/nano/logs/finetune/xlmr/source/pretrain1/topic/seed1.log"
    assert f"finetune xlmr/source/1/topic/1: {log}" in message
    assert "Finished jobs are kept" in message
    assert ("resume:  /work/main/.venv/bin/snakemake --configfile nano.yaml --cores 2 --rerun-incomplete "
            "--forcerun checkpoints/finetuned/xlmr/source/pretrain1/topic/seed1") in message
    assert "status:  python -m mtbridge.status --configfile" in message


def test_an_interrupted_run_names_the_jobs_it_stopped(tmp_path: Path) -> None:
    log = copy_log("interrupted_run.snakemake.log", tmp_path)
    message = status.failure_message(log, tmp_path / "studies" / "nano")
    assert "the run was interrupted" in message
    assert "finetune xlmr/source/1/topic/1: studies/nano/logs/finetune/" in message
    assert "--forcerun" not in message


def test_the_progress_line_of_a_run() -> None:
    run = status.parse_run_log(SAMPLES / "interrupted_run.snakemake.log")
    assert run.cores == 2 and run.ended and not run.failed
    assert status.progress_line(run, {}, cores=2).endswith("0/4 jobs, ended, elapsed 0:00:19, ETA 0:00:00")
    run.ended = False  # as the line reads while the run went
    line = status.progress_line(run, {"finetune": [12.0], "predict": [1.0]}, cores=2,
                                now=datetime(2026, 12, 1, 17, 21, 38))
    # left: finetune 12 s, 2 predict × 1 s, transfer_table unmeasured (median 6.5 s): 20.5 s / 2 cores,
    # but no less than the 12 s finetune
    assert line == "finetuning 0/3 · tables 0/1 | 0/4 jobs, 1 running, elapsed 0:01:00, ETA 0:00:12"


@pytest.fixture
def tiny_workflow(tmp_path: Path) -> Path:
    """The workflow in a fresh folder with two small studies of one task and language pair: ``tiny``
    (one model and objective) and ``every_rule`` (mbart, with a continued objective: every synthetic rule)."""
    copy_workflow(tmp_path, profiles=True)
    for name, model, objectives in (("tiny", "xlmr", ["source"]),
                                    ("every_rule", "mbart", ["source", "mt-m2m", "random-init"])):
        config = yaml.safe_load((ROOT / "configs" / "micro.yaml").read_text())
        config["study"].update(name=name, models=[model], tasks=["topic"], languages=["en", "close"],
                               pretraining_seeds=[1])
        config["models"] = {model: {**config["models"][model], "objectives": objectives}}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def status_environment() -> dict[str, str]:
    """This checkout's mtbridge first on PYTHONPATH (the status command runs as ``python -m``)."""
    return environment(PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def run_in(folder: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, env=status_environment(),
                          timeout=300)


@pytest.mark.workflow
def test_status_of_a_study_not_run_yet(tiny_workflow: Path) -> None:
    result = run_in(tiny_workflow, sys.executable, "-m", "mtbridge.status", "--configfile", "tiny.yaml",
                    "--cores", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "study tiny (studies/tiny), 2 core(s)"
    total = next(line.split() for line in lines if line.startswith("total"))
    assert total[1] == "0" and total[2] == total[3] and int(total[3]) > 10
    assert "finetune xlmr/source/1/topic/1: missing output" in result.stdout
    assert "estimated time for the planned jobs on 2 core(s): unknown" in result.stdout
    assert not list((tiny_workflow / "studies" / "tiny").glob("checkpoints/**/*"))


@pytest.mark.workflow
def test_rule_phases_agree_with_the_phase_targets(tiny_workflow: Path) -> None:
    """Each rule's phase is the first phase target of rules/phases.smk that plans its jobs."""
    targets = [f"phase_{phase}" for phase in status.PHASE_RULES]

    def rules_of(target: str) -> set[str]:
        result = snakemake(tiny_workflow, "-n", "--quiet", "rules", "--cores", "1", "--configfile",
                           "every_rule.yaml", "--", target, env=status_environment(), timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        return set(planned_jobs(result))

    with ThreadPoolExecutor(2) as pool:
        planned = dict(zip(targets, pool.map(rules_of, targets), strict=True))
    seen: set[str] = set()
    for target in targets:
        first_here = {rule for rule in planned[target] - seen if status.phase_of(rule) is not None}
        assert {rule: status.phase_of(rule) for rule in first_here} == dict.fromkeys(
            first_here, target.removeprefix("phase_")), target
        seen |= planned[target]
    assert {"continue_pretraining", "translate", "cka_models", "budget_table"} <= seen
