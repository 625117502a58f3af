# Configuration checks, the study grid, and the helpers the rules use instead of lambdas.
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from mtbridge import paths
from mtbridge.environment import warn_about_environment
from mtbridge.provenance import (
    check_artifacts_have_a_record,
    config_hash,
    script_fingerprint,
    settings_path,
    settings_record,
    write_if_changed,
)
from mtbridge.config import (
    CONTINUED_OBJECTIVES,
    OBJECTIVES,
    SEQ2SEQ_ARCHITECTURES,
    canonical,
    continued_trained_here,
    continued_languages,
    continued_variants,
    evaluation_languages,
    finetuning_settings,
    is_synthetic,
    job_resources,
    model_objectives,
    parallel_pairs,
    prepare_config,
    pretraining_seed,
    task_definition,
    task_languages,
    world_slice,
)

min_version("9.0")

prepare_config(config, os.path.join(workflow.basedir, "schemas", "config.schema.yaml"),
               overrides=workflow.config_settings.config, exit_on_error=True)  # --config, typed; no traceback


# every artifact, log and settings file of a study lives under its own root (paths.study_root); a job's
# own Snakemake on a cluster node (srun inside the SLURM job) starts there already
STUDY_ROOT = paths.study_root(config["study"]["name"])
if not os.getcwd().endswith(os.sep + os.path.normpath(STUDY_ROOT)):

    workdir: STUDY_ROOT



if not os.environ.get("MTBRIDGE_RECONCILING"):  # set by scripts/pull.sh while it reconciles
    check_artifacts_have_a_record()
    warn_about_environment(".", config["reproduction"]["environment"])  # artifacts of other library versions


STUDY = config["study"]
TRAIN = STUDY["train_language"]
LANGUAGES = STUDY["languages"]
TASKS = STUDY["tasks"]
SEEDS = STUDY["seeds"]
PSEEDS = STUDY["pretraining_seeds"]
SYNTHETIC = is_synthetic(config)
# languages continued pretraining reads: the study's (synthetic), or en and the parallel corpus's (XGLUE)
CONTINUED_LANGUAGES = continued_languages(config)
TASK_LANGUAGES = {task: task_languages(config, task) for task in TASKS}
ANALYSIS_LANGUAGES = evaluation_languages(config)
# tasks with splits to write: the study's, and XNLI when its test premises are the evaluation set
SPLIT_TASKS = list(dict.fromkeys(
    [*TASKS, *([] if SYNTHETIC or config["evaluation"]["source"] != "xnli" else ["xnli"])]
))
DEVICE = config["device"]
RESOURCES = {kind: job_resources(config, kind) for kind in config["resources"]}


SCHEDULING_KEYS = ("warm_workers", "resources", "reproduction")  # whether and where jobs run, not what they compute


def study_identity():
    """What a table says about where it came from: the study's name and a hash of its config, less the
    scheduling keys (a SLURM run of the same study, without warm workers, makes the same tables)."""
    computed = {key: value for key, value in config.items() if key not in SCHEDULING_KEYS}
    return {"name": STUDY["name"], "config_hash": config_hash(computed)[:12]}


def threads_of(kind):
    return RESOURCES[kind]["threads"]


def resources_of(kind):
    """Scheduler resources of one kind of job (mem_mb, runtime in minutes, gpu); see profiles/."""
    return {name: value for name, value in RESOURCES[kind].items() if name != "threads"}


wildcard_constraints:
    model="|".join(STUDY["models"]),
    language="|".join(LANGUAGES),
    source="|".join(CONTINUED_LANGUAGES),
    target="|".join(CONTINUED_LANGUAGES),
    task="|".join(SPLIT_TASKS),
    split="train|dev|test",
    seed=r"\d+",
    pseed=r"\d+",
    objective="|".join(OBJECTIVES),
    continued="|".join(CONTINUED_OBJECTIVES),
    variant="|".join(objective for objective in OBJECTIVES if objective != "source"),


def job_settings(function, **params):
    """Input function: the job's settings file (params, library function, code fingerprint, and the
    fingerprint of the rule's script), written while the DAG is built and rewritten only when its
    content changes (see mtbridge.provenance)."""

    def settings(wildcards):
        if settings.script is None:
            raise WorkflowError(f"job_settings({function!r}): no script attached (attach_job_scripts)")
        values = {name: value(wildcards) if callable(value) else value for name, value in params.items()}
        path = settings_path(function, dict(wildcards.items()))
        write_if_changed(settings_record(function, canonical(values), settings.script), path)
        return path

    settings.job_function = function
    settings.script = None  # the fingerprint of the rule's script: attach_job_scripts, once rules exist
    return settings


def attach_job_scripts():
    """Give each rule's job_settings the fingerprint of the script the rule runs (called in the
    Snakefile once every rule is defined), so that an edit to a job script reruns that rule's jobs
    on every machine; Snakemake's own code trigger lives in metadata a fresh clone lacks."""
    for rule in workflow.rules:
        for item in rule.input:
            settings = getattr(item, "callable", item)
            if not hasattr(settings, "job_function"):
                continue
            if not rule.script:
                raise WorkflowError(f"rule {rule.name}: a rule with job_settings runs a `script:`")
            basedir = rule.basedir.get_path_or_uri(secret_free=True)  # the folder of the rule's .smk file
            script = os.path.normpath(os.path.join(basedir, rule.script))
            settings.script = script_fingerprint(script, workflow.basedir)


def is_hub(model, objective):
    return objective in config["models"][model]["hub"]


def checkpoint_path(model, objective, pseed):
    """The one place that says where a model's objective checkpoint lives (hub or trained)."""
    return paths.checkpoint(model, objective, pseed, is_hub(model, objective))


def objective_checkpoint(wildcards):
    return checkpoint_path(wildcards.model, wildcards.objective, wildcards.pseed)


def source_checkpoint(wildcards):
    return checkpoint_path(wildcards.model, "source", wildcards.pseed)


def model_seed(wildcards):
    """The seed a checkpoint is trained (or initialised) with: one per pretraining seed."""
    return pretraining_seed(config, int(wildcards.pseed))


def all_checkpoints(continued):
    """Every checkpoint of the study, pretraining seeds included: the continued ones or the others."""
    return list(dict.fromkeys(checkpoint_path(model, objective, pseed)
                              for model, objective in model_objectives(config) for pseed in PSEEDS
                              if (objective in CONTINUED_OBJECTIVES and not is_hub(model, objective)) == continued))


def hub_ref(wildcards):
    return config["models"][wildcards.model]["hub"][wildcards.objective]


def hub_key(wildcards):
    return f"models.{wildcards.model}.hub.{wildcards.objective}"


def random_init_base(wildcards):
    """What random-init is built from: the synthetic tokenizer (sizes from the config), or a hub
    family's source checkpoint (its architecture and tokenizer, fresh weights)."""
    return paths.tokenizer() if SYNTHETIC else source_checkpoint(wildcards)


NOT_SPEC = ("objectives", "hub", "finetuning")  # read through the DAG, never by a job


def model_spec(wildcards):
    """A family's architecture and sizes: what its jobs read (so a changed objective list or
    fine-tuning batch size reruns no fetch, pretraining or dump)."""
    spec = config["models"][wildcards.model]
    return {key: value for key, value in spec.items() if key not in NOT_SPEC}


def job_language(wildcards):
    return [wildcards.language]


def corpus_world(wildcards):
    return world_slice(config, [wildcards.language], ("monolingual", "evaluation"))


def split_world(wildcards):
    return world_slice(config, [wildcards.language], (wildcards.split,))


def pair_world(wildcards):
    return world_slice(config, [wildcards.source, wildcards.target], ("parallel",))


def monolingual_corpora(wildcards=None):
    return [paths.monolingual_corpus(language) for language in LANGUAGES]


def parallel_corpora(wildcards):
    return [paths.parallel_corpus(a, b) for a, b in parallel_pairs(config)]


def continued_corpora(wildcards):
    """MT objectives read parallel corpora; the denoising control reads the monolingual ones in the
    synthetic world, and both sides of the same parallel corpora in the XGLUE study."""
    if wildcards.continued != "denoise-cp":
        return parallel_corpora(wildcards)
    if SYNTHETIC:
        return monolingual_corpora()
    return [paths.parallel_corpus(a, b) for a, b in parallel_pairs(config)]


def finetune_settings(wildcards):
    return finetuning_settings(config, wildcards.task, wildcards.model)


def prediction_batch_size(wildcards):
    return finetune_settings(wildcards)["eval_batch_size"]


def task_of(wildcards):
    return task_definition(config, wildcards.task)


def task_meta(wildcards):
    return {"model": wildcards.model, "objective": wildcards.objective, "task": wildcards.task,
            "language": wildcards.language, "pretraining_seed": int(wildcards.pseed), "seed": int(wildcards.seed)}


def trains_continued():
    """Whether any family continues pretraining here (else no parallel corpus is needed)."""
    return any(continued_trained_here(config["models"][model]) for model in STUDY["models"])


def data_outputs():
    """Every file of the data phase the study reads: each task's train and dev split in TRAIN (fine-tuning
    selects on that dev split), its test split in every language, corpora, evaluation sets (and the
    tokenizer). Exactly what `all` builds, so `dvc repro` after a plain Snakemake run has nothing to do."""
    files = [paths.task_split(task, split, TRAIN) for task in TASKS for split in ("train", "dev")]
    files += [paths.task_split(task, "test", language) for task in TASKS for language in TASK_LANGUAGES[task]]
    files += [paths.evaluation_set(language) for language in ANALYSIS_LANGUAGES]
    if SYNTHETIC or trains_continued():
        files += [paths.parallel_corpus(a, b) for a, b in parallel_pairs(config)]
    if SYNTHETIC:
        files += [paths.monolingual_corpus(language) for language in LANGUAGES] + [paths.tokenizer()]
    return files


def study_runs():
    """(model, objective, pretraining seed, task, language, seed) of every fine-tuned run, in one fixed order."""
    return [(model, objective, pseed, task, language, seed)
            for model, objective in model_objectives(config) for pseed in PSEEDS
            for task in TASKS for language in TASK_LANGUAGES[task] for seed in SEEDS]


def all_metrics():
    return [paths.metrics(*run) for run in study_runs()]


def all_predictions():
    """The predictions of every run, in all_metrics() order: the transfer table pairs them by position."""
    return [paths.predictions(*run) for run in study_runs()]


def budget_checkpoints():
    """The checkpoints the pipeline trains itself (source and continued), by family."""
    trained = {model: [checkpoint_path(model, objective, pseed)
                       for objective in config["models"][model]["objectives"] for pseed in PSEEDS
                       if objective in ("source", *CONTINUED_OBJECTIVES) and not is_hub(model, objective)]
               for model in STUDY["models"]}
    return {model: folders for model, folders in trained.items() if folders}


def budget_checkpoint_list():
    return [folder for folders in budget_checkpoints().values() for folder in folders]


def budget_tables():
    return [paths.table("budget", extension) for extension in ("csv", "md")] if trains_continued() else []


def all_tables():
    return [paths.transfer_table("csv"), paths.transfer_table("md"), paths.transfer_tests(),
            paths.findings(), paths.summary()]


# --- the analysis half: activation dumps, CKA, spectra ----------------------------------------
ANALYSIS = config["analysis"]
ANALYSIS_TABLES = ["cka_languages", "cka_models", "spectra_summary"]


def languages_train_first():
    """Analysis languages with the training language first, so CKA pairs read train–X."""
    return [TRAIN, *(language for language in ANALYSIS_LANGUAGES if language != TRAIN)]


def dump_settings(wildcards):
    return {key: ANALYSIS[key] for key in ("batch_size", "pooling", "precision")}


def language_dumps(wildcards):
    return [paths.activations(wildcards.model, wildcards.objective, wildcards.pseed, language)
            for language in languages_train_first()]


def cka_model_paths(model):
    return [paths.cka_models(model, variant, pseed, language) for variant in continued_variants(config, model)
            for pseed in PSEEDS for language in ANALYSIS_LANGUAGES]


def family_cka_models(wildcards):
    return cka_model_paths(wildcards.model)


def family_spectra(wildcards):
    return [paths.spectra(wildcards.model, objective, pseed)
            for objective in config["models"][wildcards.model]["objectives"] for pseed in PSEEDS]


def objective_cka_languages(wildcards):
    """One model × objective's CKA over languages, every pretraining seed (a figure shows their mean)."""
    return [paths.cka_languages(wildcards.model, wildcards.objective, pseed) for pseed in PSEEDS]


def all_cka_languages():
    return [paths.cka_languages(model, objective, pseed)
            for model, objective in model_objectives(config) for pseed in PSEEDS]


def all_cka_models():
    return [path for model in STUDY["models"] for path in cka_model_paths(model)]


def all_spectra():
    return [paths.spectra(model, objective, pseed)
            for model, objective in model_objectives(config) for pseed in PSEEDS]


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
# It runs only the functions the rules name in job_settings (mtbridge.jobs.job_functions), and its
# socket lives in a fresh directory only this user can enter (mtbridge.jobs.private_directory).
WARM_RULES = os.path.join(workflow.basedir, "rules")
_warm = {}


onstart:
    # only where jobs run on this machine: a cluster job must run inside its own allocation, even
    # when a --config on the command line dropped the profile's warm_workers=False
    if config["warm_workers"] and workflow.local_exec:
        from mtbridge.jobs import job_functions, start_worker

        _warm["process"] = start_worker("logs/warm_worker.log", job_functions(WARM_RULES))


onsuccess:
    from mtbridge.jobs import stop_worker

    stop_worker(_warm.get("process"))


onerror:
    from mtbridge.jobs import stop_worker
    from mtbridge.status import report_failure

    stop_worker(_warm.get("process"))
    report_failure(log)  # which jobs failed (their logs), that finished ones are kept, how to resume
