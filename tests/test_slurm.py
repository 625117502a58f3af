"""The DAG on a real one-node SLURM cluster through snakemake-executor-plugin-slurm (profiles/slurm).

The session fixture installs Debian's slurm-wlm and munge if missing (apt-get), starts munged,
slurmctld and slurmd on localhost (scripts/slurm_cluster.sh) and stops them at the end. The
tests are skipped only where that is impossible (not root, no passwordless sudo, no apt-get).
The end-to-end test runs a shrunken micro study twice, locally and on SLURM, and requires every
artifact to be byte-identical. Deselect with `-m "not slurm"`.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from slurm_cluster import (
    FAKE_GPUS,
    FAST_POLLING,
    LOCAL_PROFILE,
    SCRIPT,
    SLURM_PROFILE,
    Cluster,
    Run,
    artifact_files,
    cluster_script,
    cluster_unavailable_reason,
    digests,
    micro,
    on_slurm,
    run_uuid,
    shrunken_workflow,
    snakemake,
    snakemake_env,
    start_cluster,
    stop_cluster,
    submitted_jobs,
    submitted_rules,
)
from snakemake_runner import copy_workflow, snakemake_command

pytestmark = pytest.mark.slurm

# rules that run as their own SLURM jobs in the shrunken study, and how many
SINGLE_JOBS = {"language_corpora": 2, "parallel_corpus": 1, "parallel_test_set": 1, "task_split": 4,
               "tokenizer": 1, "baseline": 6, "pretrain_source": 1, "continue_pretraining": 1, "finetune": 2,
               "translate": 2, "dump_activations": 4, "spectra": 2}
# the profile's group jobs (`group_<group>_<its rules, sorted, the first 5>`), one SLURM job each: the
# CKA-across-languages, CKA-between-models and retrieval/language-ID parts of `cka`, the 4 predictions
# (`predict`, up to 8 per job) and the study's tables, figures and report pages (`tables`); counted by
# benchmarks/slurm_submissions.py
GROUP_JOBS = [
    "group_cka_alignment_alignment_figure_alignment_table",
    "group_cka_cka_language_figure_cka_language_table_cka_languages",
    "group_cka_cka_model_figure_cka_model_table_cka_models",
    "group_predict_predict",
    "group_tables_budget_table_copy_scores_report_page_spectra_figure_spectra_ratio_table_...",
]


@pytest.fixture(scope="session")
def slurm() -> Iterator[Cluster]:
    reason = cluster_unavailable_reason()
    if reason:
        pytest.skip(f"no SLURM test cluster: {reason}")
    already_up = cluster_script("status").returncode == 0
    cluster = start_cluster(env=FAKE_GPUS)
    print(f"\nSLURM test cluster: install {cluster.install_s:.1f} s, start {cluster.start_s:.1f} s")
    try:
        yield cluster
    finally:
        if not already_up:  # a cluster someone started before the tests keeps running
            stop_cluster(env=FAKE_GPUS)


@pytest.fixture(scope="module")
def runs(slurm: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """The shrunken micro study run locally (warm workers, 2 cores) and on SLURM."""
    local = micro(shrunken_workflow(tmp_path_factory.mktemp("local")), "--workflow-profile",
                  str(LOCAL_PROFILE), "--cores", "2")
    assert local.result.returncode == 0, local.output[-4000:]
    remote = on_slurm(shrunken_workflow(tmp_path_factory.mktemp("slurm")), "--slurm-keep-successful-logs")
    assert remote.result.returncode == 0, remote.output[-4000:]
    slurm.timings.update(local_s=local.seconds, slurm_s=remote.seconds)
    print(f"\nshrunken micro study: local {local.seconds:.0f} s, SLURM {remote.seconds:.0f} s")
    return {"local": local, "slurm": remote}


def test_cluster_start_is_idempotent_and_reports_status(slurm: Cluster) -> None:
    again = cluster_script("start", env=FAKE_GPUS)
    assert "already running" in again.stdout
    status = cluster_script("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "slurmctld: running" in status.stdout and "idle" in status.stdout


def test_slurm_run_is_byte_identical_to_local_run(runs: dict[str, Run]) -> None:
    local, remote = runs["local"].study, runs["slurm"].study
    files = artifact_files(local)
    assert files == artifact_files(remote)
    weights = [name for name in files if name.endswith("model.safetensors")]
    assert len(weights) == 2 + 2  # pretrained and continued checkpoints, two fine-tuned models
    assert any(name.startswith("metrics/") for name in files)
    assert any(name.startswith("predictions/") for name in files)
    assert {"results/summary.json", "results/tables/cka_models.csv",
            "results/tables/spectra_summary.csv"} <= set(files)
    assert any(name.startswith("analysis/activations/") for name in files)
    local_digests, slurm_digests = digests(local, files), digests(remote, files)
    differing = [name for name in files if local_digests[name] != slurm_digests[name]]
    assert not differing, f"{len(differing)} of {len(files)} artifacts differ: {differing[:10]}"


def test_every_job_went_through_slurm(runs: dict[str, Run]) -> None:
    remote = runs["slurm"]
    jobs = submitted_jobs(remote.output)
    rules = submitted_rules(remote.output)
    for rule, count in SINGLE_JOBS.items():
        assert rules[rule] == count, (rule, rules)
    groups = {name: count for name, count in rules.items() if name.startswith("group_")}
    assert groups == dict.fromkeys(GROUP_JOBS, 1), rules
    # the SLURM logs (kept with --slurm-keep-successful-logs) show the job ran inside its allocation
    for log in jobs.values():
        text = Path(log).read_text()
        assert "--executor slurm-jobstep" in text or "--mode remote" in text, log
        assert "Finished jobid" in text, log
    # sacct-free: squeue still lists finished jobs (MinJobAge=3600: an hour, so that a slow run on a busy
    # machine still lists its first jobs); every one of this run COMPLETED
    states = dict(line.split() for line in Cluster.squeue("-t", "all", "--name", run_uuid(remote.output),
                                                          "-o", "%i %T").splitlines())
    assert {int(job) for job in states} == set(jobs)
    assert set(states.values()) == {"COMPLETED"}, states
    # no job was forked from a warm worker on the submit host
    assert not (remote.study / "logs" / "warm_worker.log").exists()
    assert (runs["local"].study / "logs" / "warm_worker.log").exists()


def test_second_slurm_run_has_nothing_to_do(runs: dict[str, Run]) -> None:
    again = on_slurm(runs["slurm"].workdir, "-n")
    assert again.result.returncode == 0, again.output[-2000:]
    assert "Nothing to be done" in again.output


GPU_SNAKEFILE = """
rule all:
    input: "gpu.txt", "cpu.txt"

rule on_gpu:
    output: "gpu.txt"
    resources: gpu=1
    shell: "scontrol show job $SLURM_JOB_ID > {output}; echo GPUS=$CUDA_VISIBLE_DEVICES >> {output}"

rule on_cpu:
    output: "cpu.txt"
    resources: gpu=0
    shell: "scontrol show job $SLURM_JOB_ID > {output}"
"""


def test_gpu_resource_becomes_a_slurm_gpu_request(slurm: Cluster, tmp_path: Path) -> None:
    """The profile's GPU mapping on the real scheduler: gpu=N -> --gpus=N; gpu=0 -> no GPU."""
    (tmp_path / "Snakefile").write_text(GPU_SNAKEFILE)
    run = snakemake(tmp_path, "--workflow-profile", str(SLURM_PROFILE), "--executor", "slurm", "--cores", "2",
                    *FAST_POLLING, timeout=300)
    assert run.result.returncode == 0, run.output[-3000:]
    gpu, cpu = (tmp_path / "gpu.txt").read_text(), (tmp_path / "cpu.txt").read_text()
    assert "gres/gpu=1" in gpu or "gres:gpu:1" in gpu, gpu
    assert "GPUS=0" in gpu
    assert "gpu" not in cpu.split("TRES=")[1].splitlines()[0], cpu


def test_cluster_script_fails_clearly_on_bad_usage() -> None:
    result = subprocess.run(["bash", str(SCRIPT), "bogus"], capture_output=True, text=True)
    assert result.returncode == 2 and "usage" in result.stderr


def test_profiles_are_valid_snakemake_profiles(tmp_path: Path) -> None:
    """Both profiles parse and plan the micro study (dry run; no cluster needed for that)."""

    slurm_profile = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text())
    assert slurm_profile["executor"] == "slurm" and "warm_workers=False" in slurm_profile["config"]
    assert slurm_profile["retries"] == 2 and slurm_profile["rerun-incomplete"] is True
    workdir = copy_workflow(tmp_path / "workdir")
    for profile in (LOCAL_PROFILE, SLURM_PROFILE):
        run = snakemake(workdir, "--workflow-profile", str(profile), "--configfile", "configs/micro.yaml",
                        "-n", "--quiet", "rules", timeout=300)
        assert run.result.returncode == 0, (profile, run.output[-2000:])


def test_profile_groups_the_small_jobs(tmp_path: Path) -> None:
    """The profile's groups in a dry run of the shrunken study (no cluster needed): the three parts of
    `cka`, the 4 predictions as one job (up to 8 per job) and the tables, figures and pages as one."""
    run = micro(shrunken_workflow(tmp_path), "-n", "--workflow-profile", str(SLURM_PROFILE), "--executor",
                "slurm", config=("warm_workers=False",))
    assert run.result.returncode == 0, run.output[-2000:]
    assert Counter(re.findall(r"Group job (\S+) \(jobs", run.output)) == {"cka": 3, "predict": 1, "tables": 1}


REQUEUE_SNAKEFILE = """
rule all:
    input: "slow.txt"

rule slow:
    output: "slow.txt"
    shell: "echo started >> attempts.txt; sleep 10; echo done > {output}"
"""


def test_preempted_job_is_requeued_and_completes(slurm: Cluster, tmp_path: Path) -> None:
    """`slurm-requeue: true` in the profile: a running job that SLURM requeues (what preemption or a
    node failure does) starts again under the same job id and Snakemake waits for it."""
    (tmp_path / "Snakefile").write_text(REQUEUE_SNAKEFILE)
    attempts = tmp_path / "attempts.txt"
    command = snakemake_command("--workflow-profile", str(SLURM_PROFILE), "--executor", "slurm",
                                "--cores", "2", *FAST_POLLING)
    with subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=snakemake_env()) as process:
        deadline = time.monotonic() + 120
        while not (attempts.exists() and attempts.read_text()) and time.monotonic() < deadline:
            time.sleep(0.2)
        job = next(line.split()[0] for line in Cluster.squeue("-t", "R", "-o", "%i %k").splitlines()
                   if "rule_slow" in line)
        subprocess.run(["scontrol", "requeue", job], check=True)
        # SLURM holds a requeued job for a while before it may start again; release it now
        while Cluster.squeue("-j", job, "-o", "%T").strip() != "PENDING" and time.monotonic() < deadline:
            time.sleep(0.2)
        subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=True)
        output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]
    assert attempts.read_text().split() == ["started", "started"]
    assert (tmp_path / "slow.txt").read_text() == "done\n"
    details = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
    assert "Restarts=1" in details and "JobState=COMPLETED" in details, details
