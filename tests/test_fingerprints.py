"""What an edit reruns: each job function's code fingerprint covers only the modules it can reach.

A job's settings file carries the sha256 of every mtbridge module its function's module imports,
transitively (mtbridge.provenance.module_closure), so a convenience import (a constant from config,
a reader from data) widens what an edit reruns: once it made an edit to the synthetic world rerun
every fine-tuning job of the paper study, and an XGLUE loader edit all continued pretraining. The
allowed sets below pin each job module's closure; a new import that widens one fails here. Shrink a
set when a closure shrinks; widen one only for an import the job really uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from snakemake_runner import copy_workflow

from mtbridge.jobs import job_functions
from mtbridge.provenance import SETTINGS_ROOT, module_closure

# the modules every model job reaches: loading a checkpoint and its tokenizer
MODEL = {"hub", "inputs", "io", "models", "tokenizer", "training"}
# job module -> the mtbridge modules (without the prefix) its closure may hold, itself included
# (every one may reach `aliases`: type aliases, standard library only)
ALLOWED: dict[str, set[str]] = {module: modules | {"aliases"} for module, modules in {
    "data": {"data", "io", "synthetic", "tasks"},
    "tokenizer": {"io", "tokenizer"},
    "xglue": {"xglue", "hub", "io", "tasks"},
    "corpora": {"corpora", "hub", "io", "tasks", "tokenizer"},
    "models": MODEL - {"training"},
    "pretraining": MODEL | {"pretraining", "objectives"},
    "finetuning": MODEL | {"finetuning", "splits", "tasks", "evaluation"},
    "baselines": {"baselines", "evaluation", "io", "tasks"},
    "tables": {"tables", "evaluation", "io", "statistics", "tabular", "tasks"},
    "budget": MODEL | {"budget", "tabular"},
    "representations": MODEL | {"representations", "tasks"},
    "analysis": MODEL | {"analysis", "representations", "similarity", "spectra", "weights", "tabular",
                         "tasks"},
    "translation": MODEL | {"translation", "pretraining", "objectives", "tabular", "tasks"},
    "figures": MODEL | {"figures", "analysis", "representations", "similarity", "spectra", "weights",
                        "translation", "pretraining", "objectives", "tabular", "tasks"},
    # issue #15's job functions
    "spectra": {"spectra", "weights", "io", "tabular"},
    "spectral_swap": MODEL - {"training"} | {"spectral_swap", "weights", "objectives", "tabular"},
    # the same null as CKA's (analysis.shuffled_order), so the analysis module
    "alignment": MODEL | {"alignment", "analysis", "representations", "similarity", "spectra", "weights",
                          "tabular", "tasks"},
    "codeswitch": {"codeswitch", "io"},
    "report_pages": {"report_pages", "io"},
    # the alignment figure: the figures' closure (it draws with figures.save) and itself
    "alignment_figures": MODEL | {"alignment_figures", "figures", "analysis", "representations", "similarity",
                                  "spectra", "weights", "translation", "pretraining", "objectives", "tabular",
                                  "tasks"},
}.items()}
# job modules of ALLOWED that no rule runs yet: the round that adds their rules takes them out of here
AWAITING_RULES: set[str] = set()
# modules only some jobs may reach: module -> the job modules allowed to
RESTRICTED = {
    "synthetic": {"data"},  # the synthetic world: its own data jobs only
    "xglue": {"xglue"},  # the XGLUE loaders: the XGLUE jobs only
    "evaluation": {"finetuning", "baselines", "tables"},  # metrics: what scores predictions
}
# what builds the DAG, never a job's code
DAG_ONLY = {"config", "grid", "paths", "provenance", "environment", "jobs", "status", "sweep"}


def job_modules() -> dict[str, list[str]]:
    """Job module (without the prefix) -> its job functions, read from the rules."""
    modules: dict[str, list[str]] = {}
    for function in job_functions(ROOT / "rules"):
        module = function.partition(":")[0]
        modules.setdefault(module.removeprefix("mtbridge."), []).append(function)
    return modules


def closure(module: str) -> set[str]:
    return {name.removeprefix("mtbridge.") for name in module_closure(f"mtbridge.{module}")}


def test_every_job_module_has_an_allowed_set() -> None:
    assert set(job_modules()) == set(ALLOWED) - AWAITING_RULES


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_a_job_closure_stays_within_its_allowed_set(module: str) -> None:
    reached = closure(module)
    assert reached <= ALLOWED[module], (
        f"jobs of mtbridge.{module} ({', '.join(job_modules().get(module, []))}) now reach "
        f"{sorted(reached - ALLOWED[module])}: an edit there would rerun them. Import from a smaller "
        "module, or widen ALLOWED if the job really uses it")


def test_unrelated_modules_stay_out_of_job_closures() -> None:
    for module in [*job_modules(), *sorted(AWAITING_RULES)]:
        reached = closure(module)
        assert not reached & DAG_ONLY, (module, reached & DAG_ONLY)
        for restricted, allowed in RESTRICTED.items():
            assert restricted not in reached or module in allowed, f"mtbridge.{module} reaches {restricted}"


def test_the_closures_the_issue_named() -> None:
    assert "synthetic" not in closure("finetuning") and "data" not in closure("finetuning")
    assert not {"config", "xglue", "corpora"} & closure("pretraining")
    assert not {"evaluation", "tables", "statistics"} & closure("analysis")


# --- the paper DAG: which settings files an edit rewrites ---------------------------------------


class PaperCopy:
    """The workflow and the mtbridge package copied to ``root`` (so edits stay there) and dry runs of
    configs/paper.yaml with that package first on the path: the settings files it writes."""

    def __init__(self, root: Path, hf_home: Path) -> None:
        self.root = copy_workflow(root, profiles=True)
        shutil.copytree(ROOT / "mtbridge", root / "mtbridge", ignore=shutil.ignore_patterns("__pycache__"))
        hf_home.mkdir()
        self.environment = {**os.environ, "PYTHONPATH": str(root), "HF_HOME": str(hf_home),
                            "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                            "TRANSFORMERS_VERBOSITY": "error", "PYTHONWARNINGS": "ignore"}
        self.settings = root / "studies" / "paper" / SETTINGS_ROOT
        self.last: dict[str, tuple[bytes, int]] | None = None

    def dry_run(self) -> dict[str, tuple[bytes, int]]:
        """Plan the paper DAG (writing its settings files); each file's content and mtime."""
        result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--configfile",
                                 "configs/paper.yaml"], cwd=self.root, capture_output=True, text=True,
                                env=self.environment, timeout=600)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        self.last = {str(path.relative_to(self.settings)): (path.read_bytes(), path.stat().st_mtime_ns)
                     for path in self.settings.rglob("*.json")}
        return self.last

    def changed_by(self, edited: str) -> set[str]:
        """The settings files (by function folder) that an edit to the file ``edited`` rewrites."""
        before = self.last or self.dry_run()
        with open(self.root / edited, "a", encoding="utf-8") as handle:
            handle.write("\n# an edit\n")
        after = self.dry_run()
        assert after.keys() == before.keys()
        return {name.split("/")[0] for name in after if after[name] != before[name]}


@pytest.fixture(scope="module")
def paper_copy(tmp_path_factory: pytest.TempPathFactory) -> PaperCopy:
    root = tmp_path_factory.mktemp("fingerprints")
    return PaperCopy(root / "workflow", root / "hf_home")


@pytest.mark.workflow
def test_a_synthetic_world_edit_reruns_nothing_of_the_paper_dag(paper_copy: PaperCopy) -> None:
    """No settings file of the paper study changes (content or mtime), so with its outputs made,
    Snakemake plans 0 jobs: the paper study reads no synthetic world."""
    assert paper_copy.changed_by("mtbridge/synthetic.py") == set()
    assert paper_copy.changed_by("mtbridge/data.py") == set()


@pytest.mark.workflow
def test_a_library_edit_reruns_the_jobs_that_reach_it(paper_copy: PaperCopy) -> None:
    """The positive control: the same comparison sees a fine-tuning edit (its two functions only),
    and an XGLUE loader edit reaches the XGLUE splits, not pretraining."""
    assert paper_copy.changed_by("mtbridge/finetuning.py") == {"finetune", "predict"}
    assert paper_copy.changed_by("mtbridge/xglue.py") == {"write_xglue_split"}


@pytest.mark.workflow
def test_a_job_script_edit_reruns_that_rule_only(paper_copy: PaperCopy) -> None:
    assert paper_copy.changed_by("workflow_scripts/predict.py") == {"predict"}
    assert paper_copy.changed_by("workflow_scripts/continue_pretraining.py") == {"continue_pretraining"}
