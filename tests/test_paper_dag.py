"""The paper DAG offline: `snakemake -n` on configs/paper.yaml (and variants) plans exactly the jobs the
config implies, with an empty Hugging Face cache and no network (the DAG never reads the hub)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from paper_fixtures import change, no_network_environment, study_snakemake
from snakemake_runner import copy_workflow, planned_jobs

from mtbridge import paths
from mtbridge.config import CONTINUED_OBJECTIVES, SEQ2SEQ_ARCHITECTURES, load_config, task_definition
from mtbridge.grid import StudyGrid
from mtbridge.objectives import TRAINABLE_CONTINUED
from mtbridge.tasks import task_baselines
from mtbridge.xglue import HUB_MISSING, XGLUE_LANGUAGES

pytestmark = pytest.mark.slow  # a Snakemake dry run of the paper DAG per test (10-20 s each)


def expected_jobs(config: dict) -> dict[str, int]:
    """Jobs per rule the study implies, counted from the config alone (nothing built yet)."""
    study, train, models = config["study"], config["study"]["train_language"], config["models"]
    runs = [(model, objective) for model in study["models"] for objective in models[model]["objectives"]]
    hub_runs = [(m, o) for m, o in runs if o in config["models"][m]["hub"]]
    continued = [(m, o) for m, o in runs if o in CONTINUED_OBJECTIVES and (m, o) not in hub_runs]
    source = config["xglue"]["source"]
    task_languages = {task: [language for language in study["languages"] if language in XGLUE_LANGUAGES[task]
                             and not (source == "hub" and language in HUB_MISSING.get(task, ()))]
                      for task in study["tasks"]}
    flores = config["evaluation"]["source"] == "flores"
    analysis_languages = [language for language in study["languages"]
                          if flores or language in XGLUE_LANGUAGES["xnli"]]
    variants = {model: [o for o in config["models"][model]["objectives"] if o != "source"]
                for model in study["models"] if "source" in config["models"][model]["objectives"]}
    seeds = len(study["seeds"])
    # each task: train and dev in the train language, test in each language (xnli test premises are
    # the evaluation sentences when evaluation.source is xnli, and the predictions need them anyway)
    splits = {(task, split, train) for task in study["tasks"] for split in ("train", "dev")}
    splits |= {(task, "test", language) for task in study["tasks"] for language in task_languages[task]}
    if not flores:
        splits |= {("xnli", "test", language) for language in analysis_languages}
    counts = {
        "xglue_release": int(source == "release"),
        "xglue_split": len(splits),
        "hub_parallel_corpus": len(config["parallel"]["languages"]) if continued else 0,
        "evaluation_sentences": len(analysis_languages),
        "fetch_checkpoint": len(hub_runs),
        "continue_pretraining": len(continued),
        "random_init": sum(1 for _, objective in runs if objective == "random-init"),
        "finetune": len(runs) * len(study["tasks"]) * seeds,
        "predict": len(runs) * sum(map(len, task_languages.values())) * seeds,
        "dump_activations": len(runs) * len(analysis_languages),
        "cka_languages": len(runs),
        "cka_models": sum(map(len, variants.values())) * len(analysis_languages),
        "spectra": len(runs),
        "cka_language_figure": len(runs),
        "spectra_figure": len(study["models"]),
        "cka_model_figure": sum(1 for found in variants.values() if found),
        "cka_language_table": 1, "cka_model_table": int(any(variants.values())), "spectra_table": 1,
        "transfer_table": 1, "all": 1,
        "baseline": sum(len(task_baselines(task_definition(config, task))) * len(task_languages[task])
                        for task in study["tasks"]),
        "budget_table": int(bool(continued)),
        # issue #15's measures, in every study: alignment from the dumps, the spectra ratios to source
        "alignment": len(runs) if len(analysis_languages) > 1 else 0,
        "alignment_table": int(len(analysis_languages) > 1),
        "alignment_figure": len(study["models"]) if len(analysis_languages) > 1 else 0,
        "spectra_ratio_table": int(any(variants.values())),
    }
    seq2seq = [model for model in study["models"] if models[model]["architecture"] in SEQ2SEQ_ARCHITECTURES]
    if flores and seq2seq:  # the translation check: FLORES pairs of en and each X
        others = [language for language in study["languages"] if language != train]
        counts.update(flores_test_set=len(others), copy_scores=len(others), translation_table=1,
                      translation_figure=len(seq2seq),
                      translate=sum(len(models[model]["objectives"]) for model in seq2seq) * len(others))
    # every Markdown table and the findings as a page of the report
    tables = ("translation_table", "budget_table", "cka_language_table", "cka_model_table", "spectra_table",
              "spectra_ratio_table", "alignment_table")
    counts["report_page"] = 2 + sum(counts.get(table, 0) for table in tables)
    return {rule: count for rule, count in counts.items() if count}


PAPER_VARIANTS = [  # (edits of configs/paper.yaml by dotted key)
    pytest.param({}, id="as-shipped"),
    # every family, the release instead of the hub (POS pt comes back), XNLI premises for CKA
    pytest.param({"study.models": ["mbart50", "mbart50cp", "xlmr", "xlmrlarge", "mbert", "nllb"],
                  "models.mbert.objectives": ["source"],  # a family may go without its floor
                  "xglue": {"source": "release",
                            "release": {"path": "/data/xglue_full_dataset.tar.gz", "sha256": "a" * 64}},
                  "evaluation": {"source": "xnli", "max_sentences": 1000}},
                 id="all-families-release-xnli"),
    pytest.param({"study.tasks": ["ner", "wpr"], "finetuning.tasks": {"ner": {"epochs": 5}},
                  "evaluation": {"source": "xnli", "max_sentences": 1000}},
                 id="xnli-evaluation-without-the-xnli-task"),
]


def write_tarball(path: Path) -> Path:
    """A small tar archive standing in for a release the DAG does not unpack."""
    import tarfile

    with tarfile.open(path, "w:gz") as archive:
        archive.add(__file__, arcname="xglue_full_dataset/README")
    return path


@pytest.mark.parametrize("edits", PAPER_VARIANTS)
def test_paper_dag_plans_offline_with_the_expected_jobs(paper_raw: dict, tmp_path: Path,
                                                        edits: dict) -> None:
    workdir = copy_workflow(tmp_path / "workflow")
    raw = copy.deepcopy(paper_raw)
    for key, value in edits.items():
        change(key, value)(raw)
    if raw["xglue"]["source"] == "release":  # the DAG checks it is a tarball (its sha256: the job)
        raw["xglue"]["release"]["path"] = str(write_tarball(tmp_path / "xglue_full_dataset.tar.gz"))
    configfile = workdir / "configs" / "paper.yaml"
    configfile.write_text(yaml.safe_dump(raw, sort_keys=False))
    (tmp_path / "hf_home").mkdir()
    result = study_snakemake(workdir, Path("configs/paper.yaml"), "-n", "--quiet", "rules",
                       environment=no_network_environment(tmp_path / "hf_home"), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = planned_jobs(result.stdout + result.stderr)
    assert counts == expected_jobs(load_config(configfile)), counts
    study = workdir / paths.study_root(raw["study"]["name"])
    assert not (study / "data").exists() and not (study / "checkpoints").exists()
    assert not any((tmp_path / "hf_home").iterdir())  # nothing fetched or cached


def documented_extension() -> dict:
    """The YAML block of docs/paper-scale.md's section on issue #15's experiments at paper scale."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "paper-scale.md").read_text()
    section = text[text.index("## Issue #15's experiments at paper scale"):]
    return yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])


def merged(base: dict, extension: dict) -> dict:
    """BASE with EXTENSION's keys set, mappings merged key by key (as a user edits the file)."""
    result = copy.deepcopy(base)
    for key, value in extension.items():
        result[key] = merged(result[key], value) if isinstance(value, dict) and key in result else value
    return result


def test_documented_issue_15_experiments_plan_at_paper_scale(paper_raw: dict, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The docs' paper-scale snippet (code-switching with a user dictionary and induced ones, TLM, MLM,
    spectral swaps, low-resource pairs) is a valid config whose DAG plans the jobs it asks for."""
    extension = documented_extension()
    workdir = copy_workflow(tmp_path / "workflow")
    raw = merged(paper_raw, extension)
    configfile = workdir / "configs" / "paper.yaml"
    configfile.write_text(yaml.safe_dump(raw, sort_keys=False))
    study = workdir / paths.study_root(raw["study"]["name"])
    dictionary = study / extension["parallel"]["dictionaries"]["de"]
    dictionary.parent.mkdir(parents=True)
    dictionary.write_text("house Haus\ndog Hund\n")
    (tmp_path / "hf_home").mkdir()
    result = study_snakemake(workdir, Path("configs/paper.yaml"), "-n", "--quiet", "rules",
                             environment=no_network_environment(tmp_path / "hf_home"), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = planned_jobs(result.stdout + result.stderr)
    monkeypatch.chdir(workdir)  # where the dictionary's relative path is read from, as in a job
    config = load_config(configfile)
    induced = [language for language in config["parallel"]["languages"]
               if language not in extension["parallel"]["dictionaries"]]
    assert counts["induced_dictionary"] == len(induced) == 8
    continued = [(model, objective) for model in ("mbart50cp", "xlmr")
                 for objective in config["models"][model]["objectives"] if objective in TRAINABLE_CONTINUED]
    assert counts["continue_pretraining"] == len(continued) == 8
    assert counts["spectral_swap"] == 2 * len(config["study"]["pretraining_seeds"])
    assert counts["codeswitched_corpus"] == len(StudyGrid(config).codeswitched_corpora()) > 0
