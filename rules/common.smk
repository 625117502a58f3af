# Configuration checks, the study grid, and the helpers the rules use instead of lambdas.
import os
import tempfile
from hashlib import sha1

from snakemake.utils import min_version

from mtbridge import paths
from mtbridge.provenance import settings_path, settings_record, write_if_changed
from mtbridge.config import (
    CONTINUED_OBJECTIVES,
    OBJECTIVES,
    canonical,
    continued_variants,
    finetuning_settings,
    model_objectives,
    mt_pairs,
    parallel_pairs,
    prepare_config,
    world_slice,
)

min_version("9.0")

prepare_config(config, os.path.join(workflow.basedir, "schemas", "config.schema.yaml"))

STUDY = config["study"]
TRAIN = STUDY["train_language"]
LANGUAGES = STUDY["languages"]
TASKS = STUDY["tasks"]
SEEDS = STUDY["seeds"]
EVALUATION_SPLITS = ["dev", "test"]  # every language; the train split exists for TRAIN only


wildcard_constraints:
    model="|".join(STUDY["models"]),
    language="|".join(LANGUAGES),
    source="|".join(LANGUAGES),
    target="|".join(LANGUAGES),
    task="|".join(TASKS),
    split="train|dev|test",
    seed=r"\d+",
    objective="|".join(OBJECTIVES),
    continued="|".join(CONTINUED_OBJECTIVES),
    variant="|".join(objective for objective in OBJECTIVES if objective != "source"),


def job_settings(function, **params):
    """Input function: the job's settings file (params, library function, code fingerprint), written
    while the DAG is built and rewritten only when its content changes (see mtbridge.provenance)."""

    def settings(wildcards):
        values = {name: value(wildcards) if callable(value) else value for name, value in params.items()}
        path = settings_path(function, dict(wildcards.items()))
        write_if_changed(settings_record(function, canonical(values)), path)
        return path

    return settings


def objective_checkpoint(wildcards):
    return paths.checkpoint(wildcards.model, wildcards.objective)


def model_spec(wildcards):
    return config["models"][wildcards.model]


def language_outputs(language):
    """Every file the data rule writes for one language."""
    files = {
        "monolingual": paths.monolingual_corpus(language),
        "evaluation": paths.evaluation_set(language),
    }
    for task in TASKS:
        for split in EVALUATION_SPLITS:
            files[f"{task}_{split}"] = paths.task_split(task, split, language)
    return files


def language_world(wildcards):
    return world_slice(config, [wildcards.language])


def train_world(wildcards):
    return world_slice(config, [TRAIN])


def pair_world(wildcards):
    return world_slice(config, [wildcards.source, wildcards.target])


def task_paths(wildcards):
    outputs = language_outputs(wildcards.language)
    return {task: {split: outputs[f"{task}_{split}"] for split in EVALUATION_SPLITS} for task in TASKS}


def monolingual_corpora(wildcards=None):
    return [paths.monolingual_corpus(language) for language in LANGUAGES]


def parallel_corpora(wildcards):
    return [paths.parallel_corpus(a, b) for a, b in mt_pairs(config, wildcards.continued)]


def continued_corpora(wildcards):
    """MT objectives read parallel corpora; the denoising control reads the monolingual ones."""
    if wildcards.continued == "denoise-cp":
        return monolingual_corpora()
    return parallel_corpora(wildcards)


def finetune_settings(wildcards):
    return finetuning_settings(config, wildcards.task)


def task_meta(wildcards):
    return {"model": wildcards.model, "objective": wildcards.objective, "task": wildcards.task,
            "language": wildcards.language, "seed": int(wildcards.seed)}


def data_outputs():
    """Every file of the data phase: corpora, task splits, parallel corpora, the tokenizer."""
    files = [path for language in LANGUAGES for path in language_outputs(language).values()]
    files += [paths.task_split(task, "train", TRAIN) for task in TASKS]
    files += [paths.parallel_corpus(a, b) for a, b in parallel_pairs(config)]
    return files + [paths.tokenizer()]


def all_metrics():
    return [paths.metrics(model, objective, task, language, seed)
            for model, objective in model_objectives(config)
            for task in TASKS for language in LANGUAGES for seed in SEEDS]


def all_tables():
    return [paths.transfer_table("csv"), paths.transfer_table("md"), paths.summary()]


# --- the analysis half: activation dumps, CKA, spectra ----------------------------------------
ANALYSIS = config["analysis"]
ANALYSIS_TABLES = ["cka_languages", "cka_models", "spectra_summary"]


def languages_train_first():
    """Study languages with the training language first, so CKA pairs read train–X."""
    return [TRAIN, *(language for language in LANGUAGES if language != TRAIN)]


def dump_settings(wildcards):
    return {key: ANALYSIS[key] for key in ("batch_size", "pooling", "precision")}


def language_dumps(wildcards):
    return [paths.activations(wildcards.model, wildcards.objective, language)
            for language in languages_train_first()]


def cka_model_paths(model):
    return [paths.cka_models(model, variant, language)
            for variant in continued_variants(config, model) for language in LANGUAGES]


def family_cka_models(wildcards):
    return cka_model_paths(wildcards.model)


def family_spectra(wildcards):
    return [paths.spectra(wildcards.model, objective)
            for objective in config["models"][wildcards.model]["objectives"]]


def all_cka_languages():
    return [paths.cka_languages(model, objective) for model, objective in model_objectives(config)]


def all_cka_models():
    return [path for model in STUDY["models"] for path in cka_model_paths(model)]


def all_spectra():
    return [paths.spectra(model, objective) for model, objective in model_objectives(config)]


def all_analysis():
    """Every analysis table and figure of the study."""
    names = [name for name in ANALYSIS_TABLES if name != "cka_models" or all_cka_models()]
    tables = [paths.table(name, extension) for name in names for extension in ("csv", "md")]
    figures = [paths.cka_language_figure(model, objective) for model, objective in model_objectives(config)]
    figures += [paths.spectra_figure(model) for model in STUDY["models"]]
    figures += [paths.cka_model_figure(model) for model in STUDY["models"]
                if continued_variants(config, model)]
    return tables + figures


# --- the warm worker: torch and transformers imported once, every job forked from it ---------
WARM_SOCKET = os.path.join(
    tempfile.gettempdir(), f"mtbridge-{sha1(os.getcwd().encode()).hexdigest()[:12]}-{os.getpid()}.sock"
)
_warm = {}


onstart:
    if config["warm_workers"]:
        from mtbridge.jobs import start_worker

        _warm["process"] = start_worker(WARM_SOCKET, "logs/warm_worker.log")


onsuccess:
    from mtbridge.jobs import stop_worker

    stop_worker(_warm.get("process"))


onerror:
    from mtbridge.jobs import stop_worker

    stop_worker(_warm.get("process"))
