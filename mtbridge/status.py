"""Where a study stands: jobs done and planned per phase, why each stale job reruns, progress and ETA.

``python -m mtbridge.status [--configfile FILE] [--cores N]`` runs a Snakemake dry run from the
repository root and, for every planned job, compares its current settings file with the settings its
output's provenance record kept (``finetune mbart/mt-m2m/1/topic/1: settings.learning_rate 0.001 →
0.002``). ``--watch`` prints one progress line every few seconds while a run goes, read from the
run's main Snakemake log and the study's ``.snakemake/metadata`` (durations of finished jobs give the
ETA). ``failure_message`` is what ``onerror`` in rules/common.smk prints when a run stops.

Standard library and yaml only: it starts fast (no torch, transformers or pandas).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from mtbridge import paths, snakemake_runs
from mtbridge.aliases import PathLike
from mtbridge.provenance import SETTINGS_ROOT, provenance_path

# The phases of rules/phases.smk (one DVC stage each), in DAG order, and the rules whose jobs each
# phase target builds first. Target rules (all, baselines, phase_*) are no work and belong to none.
PHASE_RULES = {
    "data": ("language_corpora", "task_split", "parallel_corpus", "tokenizer", "xglue_release",
             "xglue_split", "hub_parallel_corpus", "evaluation_sentences", "parallel_test_set",
             "flores_test_set", "world_dictionary", "induced_dictionary", "codeswitched_corpus"),
    "pretraining": ("pretrain_source", "random_init", "fetch_checkpoint"),
    "continued": ("continue_pretraining", "spectral_swap"),
    "finetuning": ("finetune", "predict", "baseline", "translate", "copy_scores"),
    "analysis": ("dump_activations", "cka_languages", "cka_models", "spectra", "alignment"),
    "tables": ("transfer_table", "budget_table", "translation_table", "translation_figure",
               "cka_language_table", "cka_model_table", "spectra_table", "cka_language_figure",
               "cka_model_figure", "spectra_figure", "spectra_ratio_table", "alignment_table",
               "alignment_figure", "report_page"),
}
PHASES = (*PHASE_RULES, "other")
TARGET_RULES = ("all", "baselines")
RULE_HEADER = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
SCHEMA = Path("schemas") / "config.schema.yaml"
MAX_CHANGES = 6  # changed keys named per job


def phase_of(rule: str) -> str | None:
    """The phase a rule's jobs belong to; None for a target rule, ``other`` for a rule no phase names."""
    if rule in TARGET_RULES or rule.startswith("phase_"):
        return None
    return next((phase for phase, rules in PHASE_RULES.items() if rule in rules), "other")


def count_by_phase(jobs_per_rule: dict[str, int]) -> Counter:
    counts = Counter()
    for rule, count in jobs_per_rule.items():
        phase = phase_of(rule)
        if phase is not None:
            counts[phase] += count
    return counts


# --- parsing Snakemake's output ------------------------------------------------------------------


@dataclass
class Job:
    """One job as Snakemake prints it (dry run or main log): rule, files, wildcards, reason."""

    rule: str
    jobid: int | None = None
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    wildcards: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    @property
    def label(self) -> str:
        """``rule wildcard/values``, e.g. ``finetune mbart/mt-m2m/1/topic/1``."""
        return " ".join([self.rule, "/".join(self.wildcards.values())]).strip()

    @property
    def settings(self) -> str | None:
        """The job's settings file (an input under .mtbridge/settings), if it has one."""
        return next((path for path in self.inputs if path.startswith(SETTINGS_ROOT + "/")), None)


def _file_list(value: str) -> list[str]:
    value = value.removesuffix(" (check log file(s) for error details)")
    return [item.strip() for item in value.split(", ") if item.strip()]


def _wildcards(value: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in value.split(", ") if "=" in item)
    return {name.strip(): wildcard for name, _, wildcard in pairs}


def _fill(job: Job, key: str, value: str) -> None:
    if key == "input":
        job.inputs = _file_list(value)
    elif key == "output":
        job.outputs = _file_list(value)
    elif key == "log":
        job.logs = _file_list(value)
    elif key == "wildcards":
        job.wildcards = _wildcards(value)
    elif key == "reason":
        job.reason = value
    elif key == "jobid" and value.isdigit():
        job.jobid = int(value)


def parse_jobs(text: str, header: re.Pattern = RULE_HEADER) -> list[Job]:
    """Every job block (``rule x:`` then indented ``key: value`` lines) in Snakemake's output."""
    jobs, current = [], None
    for line in text.splitlines():
        match = header.match(line.strip()) if not line.startswith(" ") else None
        if match:
            current = Job(match.group(1))
            jobs.append(current)
        elif current is not None and line.startswith("    ") and ": " in line:
            key, _, value = line.strip().partition(": ")
            _fill(current, key, value)
        elif current is not None and not line.startswith("    "):
            current = None
    return jobs


def planned_jobs(dry_run_output: str) -> list[Job]:
    """The jobs a dry run (``snakemake -n``) plans, target rules excluded."""
    return [job for job in parse_jobs(dry_run_output) if phase_of(job.rule) is not None]


def parse_job_stats(text: str) -> dict[str, int]:
    """The first ``Job stats:`` table of Snakemake's output: jobs per rule (without the total)."""
    counts, inside = {}, False
    for line in text.splitlines():
        if line.startswith("Job stats:"):
            inside = True
            continue
        if not inside:
            continue
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            if parts[0] == "total":
                break
            counts[parts[0]] = int(parts[1])
        elif counts:
            break
    return counts


# --- why a job reruns ------------------------------------------------------------------------------


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a.b.c": leaf}``; lists and scalars are leaves."""
    if not isinstance(value, dict) or (prefix and not value):
        return {prefix: value}
    flat = {}
    for key, item in value.items():
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str | list | dict) else str(value)


def settings_changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What differs between the settings an output was made with and the current ones, one key each:
    ``settings.learning_rate 0.001 → 0.002`` (``(none)`` where a key is new or gone)."""
    old, new = flatten(recorded), flatten(current)
    changes = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key, ...) != new.get(key, ...):
            before = _show(old[key]) if key in old else "(none)"
            after = _show(new[key]) if key in new else "(none)"
            changes.append(f"{key} {before} → {after}")
    return changes


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def recorded_changes(job: Job, root: Path) -> list[str] | None:
    """The job's setting and code changes since its outputs were made: its settings file against the
    provenance record of its first output; None where either is missing."""
    if job.settings is None or not job.outputs:
        return None
    current = _read_json(root / job.settings)
    record = _read_json(provenance_path(root / job.outputs[0]))
    if current is None or record is None:
        return None
    changes = settings_changes(record.get("config", {}), current.get("params", {}))
    if record.get("code_fingerprint") != current.get("code"):
        module = str(current.get("function", "?")).partition(":")[0]
        changes.append(f"code of {module} (or a module it imports) changed")
    script = current.get("script")
    if script and record.get("script") != script:
        changes.append(f"script {script.get('path', '?')} changed")
    return changes


def _reasons(reason: str) -> dict[str, str]:
    """Snakemake's ``reason:`` line as {reason: its file list}."""
    parts = (part.partition(": ") for part in reason.split("; ") if part)
    return {name.strip(): files for name, _, files in parts}


def stale_reason(job: Job, root: Path, producers: dict[str, str] | None = None) -> str:
    """Why a planned job runs, in the study's terms: a missing output, the changed settings or code
    (named key by key), a rerun upstream job, or Snakemake's own reason."""
    reasons = _reasons(job.reason)
    if "Missing output files" in reasons:
        return "missing output"
    # the dry run plans incomplete jobs with --rerun-incomplete, which Snakemake calls forced
    incomplete = "Forced execution" in reasons or any(name.startswith("Incomplete") for name in reasons)
    changes = recorded_changes(job, root)
    if changes and len(changes) > MAX_CHANGES:
        changes = [*changes[:MAX_CHANGES], f"… {len(changes) - MAX_CHANGES} more changed keys"]
    if changes or incomplete:
        return "; ".join([*(["incomplete output (a run stopped in this job, or runs it now)"] * incomplete),
                          *(changes or [])])
    upstream = _file_list(reasons.get("Input files updated by another job", ""))
    if upstream:
        rules = sorted({(producers or {}).get(path, "?") for path in upstream})
        return f"after upstream reruns ({', '.join(rules)})"
    updated = _file_list(reasons.get("Updated input files", ""))
    if job.settings in updated:
        return ("settings file rewritten, with the settings the output's record has" if changes == []
                else "settings file newer than the output, which has no provenance record")
    if updated:
        return f"newer input {updated[0]}" + (f" (+{len(updated) - 1})" if len(updated) > 1 else "")
    return job.reason or "no reason given"


def producers_of(jobs: Iterable[Job]) -> dict[str, str]:
    """Output path → rule of the planned job that writes it."""
    return {output: job.rule for job in jobs for output in job.outputs}


def grouped_reasons(jobs: list[Job], root: Path) -> list[str]:
    """One line per distinct (rule, reason): the job's label where one job has it, ``rule ×n`` else."""
    producers = producers_of(jobs)
    groups: dict[tuple[str, str], list[Job]] = defaultdict(list)
    for job in jobs:
        groups[job.rule, stale_reason(job, root, producers)].append(job)
    return [f"{members[0].label if len(members) == 1 else f'{rule} ×{len(members)}'}: {reason}"
            for (rule, reason), members in groups.items()]


# --- durations and ETA -----------------------------------------------------------------------------


def rule_durations(study_root: Path) -> dict[str, list[float]]:
    """Seconds each finished job took, by rule, from Snakemake's metadata (one record per output
    file; a job with several outputs, the same rule, log and end time, counts once)."""
    seen, durations = set(), defaultdict(list)
    for path in (study_root / ".snakemake" / "metadata").glob("*"):
        record = _read_json(path)
        if not record or record.get("incomplete") or not record.get("rule"):
            continue
        start, end = record.get("starttime"), record.get("endtime")
        job = (record["rule"], tuple(record.get("log") or ()), end)
        if start is None or end is None or job in seen:
            continue
        seen.add(job)
        durations[record["rule"]].append(max(0.0, end - start))
    return dict(durations)


def eta_seconds(remaining: dict[str, int], durations: dict[str, list[float]], cores: int) -> float | None:
    """Seconds the remaining jobs take on ``cores`` cores: each job lasts its rule's mean measured
    duration (a rule never measured: the median over all measured jobs), the total work is shared by
    the cores, and it is never less than the longest single job. None when nothing was measured."""
    measured = [seconds for values in durations.values() for seconds in values]
    remaining = {rule: count for rule, count in remaining.items() if count > 0}
    if not remaining:
        return 0.0
    if not measured:
        return None
    fallback = statistics.median(measured)
    per_job = {rule: statistics.fmean(durations[rule]) if durations.get(rule) else fallback
               for rule in remaining}
    work = sum(count * per_job[rule] for rule, count in remaining.items())
    return max(work / max(1, cores), max(per_job.values()))


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# --- the study: its name and root ------------------------------------------------------------------


def study_name(root: Path, configfile: str | None) -> str:
    """``study.name`` of the config Snakemake reads: the configfile given, else the embedded
    config.yaml; the schema's default where it has none."""
    config = yaml.safe_load((root / (configfile or "config.yaml")).read_text(encoding="utf-8")) or {}
    name = (config.get("study") or {}).get("name")
    if name:
        return str(name)
    schema = yaml.safe_load((root / SCHEMA).read_text(encoding="utf-8"))
    return schema["properties"]["study"]["properties"]["name"]["default"]


def snakemake_command(configfile: str | None, cores: int, *arguments: str) -> list[str]:
    command = snakemake_runs.snakemake_command("--cores", str(cores), "--nocolor", *arguments)
    return command + (["--configfile", configfile] if configfile else [])


def dry_runs(root: Path, configfile: str | None, cores: int) -> tuple[str, str]:
    """Two dry runs at once: what would run now (with reasons), and every job of the DAG (``-F``)."""
    commands = [snakemake_command(configfile, cores, "--dry-run", "--rerun-incomplete"),
                snakemake_command(configfile, cores, "--dry-run", "--forceall", "--rerun-incomplete")]
    processes = [subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) for command in commands]
    outputs = [process.communicate()[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        if process.returncode != 0:
            raise RuntimeError(f"snakemake dry run failed (exit {process.returncode}):\n{output[-3000:]}")
    return outputs[0], outputs[1]


def skipped_jobs(every_job: list[Job], planned: list[Job], folder: Path) -> list[Job]:
    """Jobs of the DAG with a missing output that Snakemake does not plan: it skips a job whose
    outputs are only inputs of jobs that are up to date (e.g. a stale job's rerun that failed)."""
    planned_outputs = {output for job in planned for output in job.outputs}
    return [job for job in every_job
            if job.outputs and not set(job.outputs) & planned_outputs
            and any(not (folder / output).exists() for output in job.outputs)]


# --- the report ------------------------------------------------------------------------------------


def phase_table(totals: Counter, planned: Counter, skipped: Counter) -> list[str]:
    """Per phase: jobs done (outputs present and up to date), planned (to run), total; and the jobs
    Snakemake skips although an output is missing, where there are any."""
    columns = ["done", "planned", "total", *(["skipped"] if skipped else [])]
    lines = [f"{'phase':<12}" + "".join(f"{column:>9}" for column in columns)]
    for phase in [*PHASES, "total"]:
        total, plan, skip = ((sum(totals.values()), sum(planned.values()), sum(skipped.values()))
                             if phase == "total" else (totals[phase], planned[phase], skipped[phase]))
        if total or plan:
            values = [total - plan - skip, plan, total, *([skip] if skipped else [])]
            lines.append(f"{phase:<12}" + "".join(f"{value:>9}" for value in values))
    return lines


def status_report(root: Path, configfile: str | None, cores: int, limit: int = 40) -> str:
    """The whole status: per-phase counts, why each planned job runs, and the ETA of running them."""
    name = study_name(root, configfile)
    folder = root / paths.study_root(name)
    planned_output, all_output = dry_runs(root, configfile, cores)
    jobs, every_job = planned_jobs(planned_output), planned_jobs(all_output)
    skipped = skipped_jobs(every_job, jobs, folder)
    planned_rules = Counter(job.rule for job in jobs)
    lines = [f"study {name} ({folder.relative_to(root)}), {cores} core(s)"]
    lines += phase_table(count_by_phase(Counter(job.rule for job in every_job)),
                         count_by_phase(planned_rules), count_by_phase(Counter(job.rule for job in skipped)))
    if skipped:
        rebuild = ["snakemake", "--cores", str(cores), *(["--configfile", configfile] if configfile else []),
                   "--forcerun", *(output for job in skipped for output in job.outputs)]
        lines += ["", "skipped by Snakemake although an output is missing (what reads it is up to date):",
                  *(f"  {job.label}" for job in skipped[:limit]), f"  rebuild them: {shlex.join(rebuild)}"]
    if not jobs:
        return "\n".join([*lines, "", "nothing planned: every output Snakemake needs is up to date"])
    reasons = grouped_reasons(jobs, folder)
    lines += ["", "why the planned jobs run:", *(f"  {line}" for line in reasons[:limit])]
    if len(reasons) > limit:
        lines.append(f"  … and {len(reasons) - limit} more")
    durations = rule_durations(folder)
    eta = eta_seconds(dict(planned_rules), durations, cores)
    measured = sum(len(values) for values in durations.values())
    lines += ["", f"estimated time for the planned jobs on {cores} core(s): {format_duration(eta)}"
              f" (from the durations of {measured} finished jobs)"]
    return "\n".join(lines)


# --- the progress of a run, from its main Snakemake log --------------------------------------------


@dataclass
class Run:
    """A Snakemake run as its main log tells it."""

    log: Path
    started: datetime | None = None
    command: str = ""
    configfiles: list[str] = field(default_factory=list)
    cores: int | None = None
    planned: dict[str, int] = field(default_factory=dict)
    started_jobs: dict[int, Job] = field(default_factory=dict)
    finished: set[int] = field(default_factory=set)
    failed: list[Job] = field(default_factory=list)
    ended: bool = False
    elapsed: float | None = None  # seconds, once the run ended

    def done_per_rule(self) -> Counter:
        return Counter(self.started_jobs[jobid].rule for jobid in self.finished if jobid in self.started_jobs)

    def running(self) -> list[Job]:
        failed = {job.jobid for job in self.failed}
        return [job for jobid, job in self.started_jobs.items()
                if jobid not in self.finished and jobid not in failed]


ERROR_HEADER = re.compile(r"^Error in rule (\w+):$")
FINISHED = re.compile(r"^Finished jobid: (\d+)")
RUN_END = ("Complete log(s):", "Nothing to be done", "Elapsed time:", "Error:", "WorkflowError",
           "Exiting because")


def _header_value(text: str, key: str) -> str | None:
    match = re.search(rf"^\s*{re.escape(key)}: (.*)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def parse_run_log(path: Path) -> Run:
    """What a run's main log says: when and how it started, the jobs planned per rule, which started,
    finished and failed, and whether it ended."""
    text = path.read_text(encoding="utf-8", errors="replace")
    run = Run(path, command=_header_value(text, "Command") or "")
    date = _header_value(text, "Date")
    with contextlib.suppress(TypeError, ValueError):
        run.started = datetime.strptime(date, "%Y-%m-%d %H:%M:%S")
    run.configfiles = re.findall(r"PosixPath\('([^']*)'\)", _header_value(text, "Config file(s)") or "")
    cores = _header_value(text, "Provided cores")
    run.cores = int(cores) if cores and cores.isdigit() else None
    run.planned = parse_job_stats(text)
    run.started_jobs = {job.jobid: job for job in parse_jobs(text) if job.jobid is not None}
    run.finished = {int(match.group(1)) for match in map(FINISHED.match, text.splitlines()) if match}
    run.failed = [_with_wildcards(job, run.started_jobs) for job in parse_jobs(text, ERROR_HEADER)]
    run.ended = any(line.startswith(RUN_END) for line in text.splitlines())
    elapsed = re.search(r"^Elapsed time: (\d+):(\d+):(\d+(?:\.\d+)?)", text, re.MULTILINE)
    if elapsed:
        hours, minutes, seconds = elapsed.groups()
        run.elapsed = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return run


def _with_wildcards(failed: Job, started: dict[int, Job]) -> Job:
    """An ``Error in rule`` block has no wildcards: take them from the block that started the job."""
    if not failed.wildcards and failed.jobid in started:
        failed.wildcards = started[failed.jobid].wildcards
    return failed


def run_logs(root: Path) -> list[Path]:
    """Snakemake's main logs in the launch folder, newest first (their names are timestamps)."""
    return sorted((root / ".snakemake" / "log").glob("*.snakemake.log"), reverse=True)


def latest_run(root: Path, name: str) -> Run | None:
    """The newest run of study ``name`` (matched by the study name of the config files it read)."""
    for path in run_logs(root):
        run = parse_run_log(path)
        configfile = run.configfiles[-1] if run.configfiles else None
        with contextlib.suppress(OSError, ValueError, AttributeError, KeyError, TypeError):
            if study_name(root, configfile) == name:
                return run
    return None


def progress_line(run: Run, durations: dict[str, list[float]], cores: int,
                  now: datetime | None = None) -> str:
    """One line: jobs done / planned per phase in this run, running jobs, elapsed time, ETA."""
    if not run.planned and not run.ended:
        return "starting: Snakemake builds the DAG of jobs"
    done = run.done_per_rule()
    planned = {rule: count for rule, count in run.planned.items() if phase_of(rule) is not None}
    done_phase, planned_phase = count_by_phase(done), count_by_phase(planned)
    phases = " · ".join(f"{phase} {done_phase[phase]}/{planned_phase[phase]}"
                        for phase in PHASES if planned_phase[phase])
    remaining = {rule: count - done[rule] for rule, count in planned.items()}
    eta = eta_seconds(remaining, durations, run.cores or cores)
    elapsed = run.elapsed if run.ended else (
        ((now or datetime.now()) - run.started).total_seconds() if run.started else None)
    running = sum(1 for job in run.running() if phase_of(job.rule) is not None)
    state = "failed" if run.failed else ("ended" if run.ended else f"{running} running")
    return (f"{phases} | {sum(done_phase.values())}/{sum(planned_phase.values())} jobs, {state}, "
            f"elapsed {format_duration(elapsed)}, ETA {format_duration(eta if not run.ended else 0)}")


def is_running(run: Run, folder: Path, quiet_s: float = 60.0) -> bool:
    """Whether the run still goes: its log has no end, and Snakemake holds the study's lock or wrote
    the log lately (it takes the lock once the DAG is built)."""
    locks = folder / ".snakemake" / "locks"
    locked = locks.is_dir() and any(locks.iterdir())
    with contextlib.suppress(OSError):
        locked = locked or time.time() - run.log.stat().st_mtime < quiet_s
    return not run.ended and locked


def watch(root: Path, configfile: str | None, cores: int, interval: float) -> int:
    """Print the progress line of the study's current run every ``interval`` seconds until it ends."""
    name = study_name(root, configfile)
    folder = root / paths.study_root(name)
    while True:
        run = latest_run(root, name)
        if run is None:
            print(f"no run of study {name} found under {root / '.snakemake' / 'log'}")
            return 1
        print(f"{name}: {progress_line(run, rule_durations(folder), cores)}", flush=True)
        if not is_running(run, folder):
            return 1 if run.failed else 0
        time.sleep(interval)


# --- when a run stops: the message onerror prints ----------------------------------------------------


def resume_command(command: str, failed: list[Job]) -> str:
    """The run's own command (as Snakemake logged it) with ``--rerun-incomplete`` (jobs a stop killed
    mid-way are redone) and ``--forcerun`` of the failed jobs' outputs (Snakemake would skip a failed
    rerun of a stale job whose old downstream outputs are still there)."""
    words = shlex.split(command) or ["snakemake"]
    if words[0].endswith("__main__.py"):
        words[:1] = ["python", "-m", "snakemake"]
    if "--rerun-incomplete" not in words and "--ri" not in words:
        words.append("--rerun-incomplete")
    outputs = [output for job in failed for output in job.outputs if output not in words]
    return shlex.join(words + (["--forcerun", *outputs] if outputs else []))


def _status_command(run: Run, root: Path) -> str:
    words = ["python", "-m", "mtbridge.status"]
    if run.configfiles:
        words += ["--configfile", os.path.relpath(run.configfiles[-1], root)]
    return shlex.join(words)


def failure_message(logfile: PathLike | list, study_folder: PathLike) -> str:
    """What went wrong and what to do, from the run's main log: the failed jobs and their logs
    (relative to the launch folder), that finished jobs are kept, how to resume and to see status."""
    logfile = Path(logfile[0] if isinstance(logfile, list | tuple) else logfile)
    root = logfile.resolve().parents[2]  # <launch folder>/.snakemake/log/<run>.snakemake.log
    run = parse_run_log(logfile)
    folder = os.path.relpath(Path(study_folder).resolve(), root)
    lines = ["", "mtbridge: the run stopped before the end."]
    if run.failed:
        lines.append(f"{len(run.failed)} job(s) failed; their logs:")
        lines += [f"  {job.label}: {', '.join(f'{folder}/{log}' for log in job.logs) or '(no log)'}"
                  for job in run.failed]
    else:
        lines.append("No job failed: the run was interrupted (or Snakemake failed outside a job).")
    interrupted = [job for job in run.running() if phase_of(job.rule) is not None]
    if interrupted:
        lines.append(f"{len(interrupted)} job(s) were running (redone on resume); their logs:")
        lines += [f"  {job.label}: {', '.join(f'{folder}/{log}' for log in job.logs) or '(no log)'}"
                  for job in interrupted]
    lines += [f"Finished jobs are kept ({len(run.finished)} in this run; an output is written whole or not at"
              " all): resuming runs only the failed, interrupted and remaining jobs.",
              f"  resume:  {resume_command(run.command, run.failed)}",
              f"  status:  {_status_command(run, root)}",
              f"  run log: {os.path.relpath(logfile.resolve(), root)}"]
    return "\n".join(lines)


def report_failure(logfile: PathLike | list) -> None:
    """The ``onerror`` handler's one call: print the failure message to stderr (never raises: a
    broken message must not hide Snakemake's own error)."""
    try:
        sys.stderr.write(failure_message(logfile, os.getcwd()) + "\n")
    except Exception as error:  # noqa: BLE001 - see docstring
        sys.stderr.write(f"mtbridge: could not summarise the failure ({error})\n")


# --- the command -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mtbridge.status", description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", help="the study config, as given to snakemake (default: config.yaml)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                        help="cores a run uses, for the ETA (default: all)")
    parser.add_argument("--watch", action="store_true", help="print the progress of the current run")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between --watch lines")
    arguments = parser.parse_args(argv)
    root = Path.cwd()
    if arguments.watch:
        return watch(root, arguments.configfile, arguments.cores, arguments.interval)
    try:
        print(status_report(root, arguments.configfile, arguments.cores))
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        sys.exit(main())
