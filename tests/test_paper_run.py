"""A paper-shaped study end to end, offline, on the stand-ins of tests/paper_fixtures.py: every hub
family fetched or trained, the transfer, CKA and spectra tables filled, an edit reruns exactly the jobs
that read it, and the study shared through DVC (published, cloned, pulled with an empty Hugging Face
cache, 0 jobs planned). The study runs once, in the module-scoped `paper_run` fixture."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from paper_fixtures import (
    FLORES_ID,
    LANGUAGES,
    MMT_ID,
    PARALLEL_ID,
    SENTENCES,
    StandIns,
    change,
    no_network_environment,
    repo_id,
    study_snakemake,
    write_xglue_release,
)
from snakemake_runner import copy_checkout, copy_workflow, planned_jobs

from mtbridge import paths
from mtbridge.config import load_config
from mtbridge.models import load_pretrained

# in the canonical objective order (config.OBJECTIVE_ORDER): tables list rows that way
E2E_MODELS = {"mbart": ["source", "mt-m2m"], "mbartcp": ["source", "denoise-cp", "mt-o2m"],
              "xlmr": ["source"], "mbert": ["source"]}
E2E_TASKS = ["ner", "xnli", "wpr"]


def e2e_config(standins: StandIns, tarball: Path, sha256: str) -> dict:
    """configs/paper.yaml's structure at the stand-ins' size: hub objectives from {path} and the fake
    cache, the pipeline's own continued pretraining on the cached OPUS layout, FLORES+ for CKA."""
    checkpoint = {architecture: {"path": str(folder)}
                  for architecture, folder in standins.checkpoints.items()}
    cached = {"id": MMT_ID, "revision": standins.commits[MMT_ID]}
    return {
        "seed": 3,
        "study": {"name": "paper-shaped", "models": list(E2E_MODELS), "tasks": E2E_TASKS,
                  "languages": list(LANGUAGES), "train_language": "en", "seeds": [1]},
        "xglue": {"source": "release", "release": {"path": str(tarball), "sha256": sha256},
                  "max_examples": {"train": 3, "dev": 3, "test": 3}},
        "parallel": {"hub": {"id": PARALLEL_ID, "revision": standins.commits[PARALLEL_ID]},
                     "languages": ["de", "bg"], "max_pairs": 4},
        "evaluation": {"source": "flores", "hub": {"id": FLORES_ID, "revision": "main"}, "split": "devtest",
                       "max_sentences": 6},
        "models": {
            "mbart": {"architecture": "mbart", "objectives": E2E_MODELS["mbart"],
                      "hub": {"source": checkpoint["mbart"], "mt-m2m": cached},
                      "language_fallback": {"bg": "ru"}, "max_length": 32},
            "mbartcp": {"architecture": "mbart", "objectives": E2E_MODELS["mbartcp"],
                        "hub": {"source": checkpoint["mbart"]}, "language_fallback": {"bg": "ru"},
                        "max_length": 32, "finetuning": {"batch_size": 2}},
            "xlmr": {"architecture": "xlm-roberta", "objectives": ["source"],
                     "hub": {"source": {"id": repo_id("xlm-roberta"), "revision": "main"}}, "max_length": 32},
            "mbert": {"architecture": "bert", "objectives": ["source"], "hub": {"source": checkpoint["bert"]},
                      "max_length": 32},
        },
        "continued_pretraining": {"tokens": 100, "batch_size": 2, "learning_rate": 0.001},
        "finetuning": {"defaults": {"epochs": 1, "batch_size": 4, "learning_rate": 0.001,
                                    "eval_batch_size": 8},
                       "tasks": {"ner": {"epochs": 1}}},
        "analysis": {"batch_size": 8, "precision": "float32", "top_k": 2},
        "threads": 1,
        "warm_workers": True,
        "device": {"accelerator": "cpu"},
    }


@dataclass(frozen=True)
class PaperRun:
    workdir: Path
    configfile: Path
    config: dict
    environment: dict[str, str]

    @property
    def study(self) -> Path:
        """The study's own root, where its artifacts are."""
        return self.workdir / paths.study_root(self.config["study"]["name"])


@pytest.fixture(scope="module")
def paper_run(standins: StandIns, tmp_path_factory: pytest.TempPathFactory) -> PaperRun:
    root = tmp_path_factory.mktemp("paper_run")
    tarball, sha256 = write_xglue_release(root / "xglue")
    workdir = copy_workflow(root / "workflow")
    configfile = root / "paper-like.yaml"
    configfile.write_text(yaml.safe_dump(e2e_config(standins, tarball, sha256), sort_keys=False))
    environment = {**no_network_environment(standins.hf_home), "HF_DATASETS_CACHE": str(root / "datasets")}
    result = study_snakemake(workdir, configfile, "--cores", "2", environment=environment)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return PaperRun(workdir, configfile, load_config(configfile), environment)


@pytest.mark.workflow
def test_paper_shaped_run_fills_the_transfer_table(paper_run: PaperRun) -> None:
    config, workdir = paper_run.config, paper_run.study
    table = pd.read_csv(workdir / paths.transfer_table("csv"))
    table = table[table["model"] != "baseline"]  # the surface baselines come first
    assert list(zip(table["model"], table["objective"], strict=True)) == [
        (model, objective) for model, objectives in E2E_MODELS.items() for objective in objectives]
    assert (table["seeds"] == 1).all()
    languages = {"ner": ["en", "de"], "xnli": ["en", "de", "bg"], "wpr": ["en", "de"]}
    for task, expected in languages.items():
        columns = sorted(column for column in table.columns if column.startswith(f"{task}.")
                         and not column.endswith((".std", ".avg", ".ci_low", ".ci_high")))
        assert columns == sorted(f"{task}.{language}" for language in expected), columns
        assert table[columns].notna().all().all() and table[columns].ge(0).all().all()
        for model, objectives in E2E_MODELS.items():
            for objective in objectives:
                for language in expected:
                    path = workdir / paths.metrics(model, objective, 1, task, language, 1)
                    metrics = json.loads(path.read_text())
                    assert metrics["metric"] == ("ndcg" if task == "wpr" else
                                                 "entity_f1" if task == "ner" else "accuracy")
                    assert metrics["language"] == language and 0 <= metrics["score"] <= 1
    wpr = pq.read_table(workdir / paths.predictions("xlmr", "source", 1, "wpr", "de", 1))
    assert wpr.column_names == ["id", "gold", "predicted", "relevance"]
    assert "## wpr (nDCG)" in (workdir / paths.transfer_table("md")).read_text()
    assert set(json.loads((workdir / paths.summary()).read_text())["results"]) == {*E2E_MODELS, "baseline"}
    assert config["study"]["languages"] == list(LANGUAGES)


@pytest.mark.workflow
def test_paper_shaped_run_fetched_and_trained_every_checkpoint(paper_run: PaperRun,
                                                               standins: StandIns) -> None:
    workdir = paper_run.study
    for model, objectives in E2E_MODELS.items():
        hub_objectives = paper_run.config["models"][model]["hub"]
        for objective in objectives:
            folder = workdir / paths.checkpoint(model, objective, 1, objective in hub_objectives)
            record = json.loads((folder / "training.json").read_text())
            assert record["objective"] == ("hub" if objective in hub_objectives else objective), folder
            load_pretrained(folder)
    resolved = {
        (model, objective): json.loads((workdir / paths.checkpoint(model, objective, None, hub=True)
                                        / "training.json")
                                       .read_text())["resolved_revision"]
        for model, objective in (("mbart", "source"), ("mbart", "mt-m2m"), ("xlmr", "source"))}
    assert resolved == {("mbart", "source"): "local", ("mbart", "mt-m2m"): standins.commits[MMT_ID],
                        ("xlmr", "source"): standins.commits[repo_id("xlm-roberta")]}
    continued = json.loads((workdir / paths.checkpoint("mbartcp", "mt-o2m", 1) / "training.json").read_text())
    assert continued["steps"] >= 1 and continued["tokens"] + continued["target_tokens"] >= 100
    corpus = pq.read_table(workdir / paths.parallel_corpus("en", "bg")).to_pylist()
    assert [row["target"] for row in corpus] == SENTENCES["bg"][:4]


@pytest.mark.workflow
def test_paper_shaped_run_has_cka_and_spectra_for_every_family(paper_run: PaperRun) -> None:
    workdir = paper_run.study
    languages = pd.read_csv(workdir / paths.table("cka_languages", "csv"))
    assert set(zip(languages["model"], languages["objective"], strict=True)) == {
        (model, objective) for model, objectives in E2E_MODELS.items() for objective in objectives}
    assert set(languages["language_a"]) | set(languages["language_b"]) == set(LANGUAGES)
    models = pd.read_csv(workdir / paths.table("cka_models", "csv"))
    assert set(zip(models["model"], models["objective"], strict=True)) == {
        ("mbart", "mt-m2m"), ("mbartcp", "mt-o2m"), ("mbartcp", "denoise-cp")}
    assert set(models["language"]) == set(LANGUAGES)
    same_layer = models["layer_index_source"] == models["layer_index_variant"]
    hub_variant = models[(models["model"] == "mbart") & same_layer]
    assert hub_variant["cka"].min() < 0.999  # the MMT stand-in is another checkpoint than the source
    spectra = pd.read_csv(workdir / paths.table("spectra_summary", "csv"))
    assert set(spectra["model"]) == set(E2E_MODELS)
    for model in E2E_MODELS:
        assert (workdir / paths.spectra_figure(model)).read_bytes().startswith(b"\x89PNG")
    bg = pq.read_table(workdir / paths.evaluation_set("bg")).to_pylist()
    assert [row["text"] for row in bg] == SENTENCES["bg"]


# every table states the study's config hash (StudyGrid.identity), so any edit reruns every table, the
# translation figures drawn from the translation table and the report's page of every Markdown table
TABLES = {"transfer_table": 1, "cka_language_table": 1, "cka_model_table": 1, "spectra_table": 1,
          "translation_table": 1, "translation_figure": 2, "budget_table": 1, "alignment_table": 1,
          "spectra_ratio_table": 1, "report_page": 9, "all": 1}
RERUNS = [  # an edit of the study -> exactly the jobs that read it
    pytest.param(change("models.mbartcp.finetuning.batch_size", 3),
                 {"finetune": 9, "predict": 21, **TABLES},
                 id="fine-tuning batch size"),
    pytest.param(change("models.mbart.objectives", ["source", "mt-m2m", "random-init"]),
                 {"random_init": 1, "finetune": 3, "predict": 7, "dump_activations": 3, "spectra": 1,
                  "cka_languages": 1, "cka_models": 3, "cka_language_figure": 1, "cka_model_figure": 1,
                  "spectra_figure": 1, "translate": 2, "alignment": 1, "alignment_figure": 1, **TABLES},
                 id="one objective more"),
    pytest.param(change("study.languages", [*LANGUAGES, "es"]),
                 {"xglue_split": 3, "evaluation_sentences": 1, "predict": 21, "dump_activations": 7,
                  "cka_languages": 7, "cka_models": 3, "cka_language_figure": 7, "cka_model_figure": 2,
                  "baseline": 10, "flores_test_set": 1, "copy_scores": 1, "translate": 5, "alignment": 7,
                  "alignment_figure": 4, **TABLES},
                 id="one study language more"),
]


@pytest.mark.workflow
@pytest.mark.parametrize(("edit", "expected"), RERUNS)
def test_an_edit_reruns_only_the_jobs_that_read_it(paper_run: PaperRun, tmp_path: Path, edit,
                                                   expected: dict[str, int]) -> None:
    raw = yaml.safe_load(paper_run.configfile.read_text())
    edit(raw)
    configfile = tmp_path / "edited.yaml"
    configfile.write_text(yaml.safe_dump(raw, sort_keys=False))
    result = study_snakemake(paper_run.workdir, configfile, "-n", "--quiet", "rules",
                       environment=paper_run.environment, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    planned = planned_jobs(result.stdout + result.stderr)
    assert planned == expected, ", ".join(f"{rule} {count}" for rule, count in sorted(planned.items()))


# --- sharing the paper-shaped study through DVC ------------------------------------------------


def run(cwd: Path, *command: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    """A command with the test's virtual environment first on PATH; its output on failure."""
    environment = {**environment, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=environment, timeout=900)
    assert result.returncode == 0, f"{' '.join(command)}:\n{(result.stdout + result.stderr)[-4000:]}"
    return result


def artifacts(study: Path) -> dict[str, tuple[str, int]]:
    """Every artifact of a study root, by path inside it: sha256 and mtime."""
    return {str(path.relative_to(study)): (hashlib.sha256(path.read_bytes()).hexdigest(),
                                           path.stat().st_mtime_ns)
            for folder in paths.ARTIFACT_FOLDERS for path in sorted((study / folder).rglob("*"))
            if path.is_file() and path.name != ".gitignore"}


def contents(study: Path) -> dict[str, str]:
    return {name: digest for name, (digest, _) in artifacts(study).items()}


@pytest.mark.workflow
def test_paper_shaped_study_is_shared_through_dvc(paper_run: PaperRun, tmp_path: Path) -> None:
    """Publish the study with `dvc repro` + `dvc push`, clone, `scripts/pull.sh`: nothing to rerun.

    The colleague's environment has an empty Hugging Face cache: jobs, never the DAG, read the hub, so
    nothing from it is needed to check that pulled artifacts are up to date. The local files the config
    names (the XGLUE release, {path} checkpoints) are at the same paths: the DAG checks that they exist."""
    name, git = paper_run.config["study"]["name"], ("git", "-c", "user.name=t", "-c", "user.email=t@t")
    origin = tmp_path / "origin"  # a copy of the fixture's workdir: the other tests keep theirs as it was
    shutil.copytree(paper_run.workdir, origin, symlinks=True)
    copy_checkout(origin)  # dvc.yaml, .dvc/, scripts/, mtbridge/ (stage deps), as a clone would have them
    configfile = Path("configs") / f"{name}.yaml"
    shutil.copy2(paper_run.configfile, origin / configfile)
    stages = (origin / "dvc.yaml").read_text()
    assert "\n      default: config.yaml\n" in stages
    (origin / "dvc.yaml").write_text(stages.replace("\n      default: config.yaml\n",
                                                    f"\n      {name}: {configfile}\n"))
    before = artifacts(origin / paths.study_root(name))
    assert contents(paper_run.study) == {path: digest for path, (digest, _) in before.items()}

    def publish(*command: str) -> subprocess.CompletedProcess:
        return run(origin, *command, environment=paper_run.environment)

    publish("git", "init", "-q")
    publish("git", "add", "-A")
    publish(*git, "commit", "-qm", "study")
    publish("dvc", "repro")
    after = artifacts(origin / paths.study_root(name))
    assert {path: digest for path, (digest, _) in after.items()} == contents(paper_run.study)
    # Snakemake had nothing to do: only DVC's single-file outputs were touched (copied back from its cache)
    assert {path for path in after if after[path] != before[path]} <= {
        "results/summary.json", "results/findings.md", "results/findings.provenance.json",
        "results/summary.provenance.json"}
    publish("dvc", "remote", "add", "-d", "shared", str(tmp_path / "remote"))
    publish("dvc", "remote", "modify", "shared", "verify", "true")
    publish("dvc", "push", "-q")
    publish("git", "add", "-A")
    publish(*git, "commit", "-qm", "results")

    colleague = tmp_path / "colleague"
    run(tmp_path, "git", "clone", "-q", str(origin), str(colleague), environment=paper_run.environment)
    (colleague / ".venv").symlink_to(Path(sys.executable).parent.parent)  # pull.sh installs without one
    empty = tmp_path / "empty_hf_home"
    environment = {**no_network_environment(empty), "HF_DATASETS_CACHE": str(empty / "datasets")}
    pulled = run(colleague, "bash", "scripts/pull.sh", "-q", environment=environment)
    assert "Nothing to be done" in pulled.stdout + pulled.stderr
    plan = study_snakemake(colleague, configfile, "-n", environment=environment, timeout=300)
    assert plan.returncode == 0 and "Nothing to be done" in plan.stdout + plan.stderr, plan.stderr[-3000:]
    run(colleague, "dvc", "status", "--quiet", environment=environment)
    assert contents(colleague / paths.study_root(name)) == contents(paper_run.study)
    assert not empty.exists() or not any(empty.rglob("*.safetensors"))  # nothing fetched from the hub
