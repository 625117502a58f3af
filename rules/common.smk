# The config checked against its schema, the study grid (mtbridge.grid), and the adapters jobs use
# instead of lambdas: wildcards in, the grid's or the config's answer out.
import os

from snakemake.exceptions import WorkflowError
from snakemake.scheduling.job_scheduler import JobScheduler
from snakemake.utils import min_version

from mtbridge import paths
from mtbridge.config import (
    DEFAULT_CODESWITCH_SHARE,
    canonical,
    finetuning_settings,
    job_resources,
    pair_parallel_settings,
    prepare_config,
    pretraining_seed,
    task_definition,
    task_split_world,
    world_slice,
)
from mtbridge.environment import warn_about_environment
from mtbridge.grid import REPORT_CATEGORIES, StudyGrid
from mtbridge.provenance import (
    check_artifacts_have_a_record,
    script_fingerprint,
    settings_path,
    settings_record,
    write_if_changed,
)
from mtbridge.scheduling import coalesce_reevaluations

min_version("9.0")
# one re-evaluation timer, not one per finished job (mtbridge.scheduling)
coalesce_reevaluations(JobScheduler)

prepare_config(
    config,
    os.path.join(workflow.basedir, "schemas", "config.schema.yaml"),
    overrides=workflow.config_settings.config,
    exit_on_error=True,
)  # --config, typed; no traceback


# every artifact, log and settings file of a study lives under its own root (paths.study_root); a job's
# own Snakemake on a cluster node (srun inside the SLURM job) starts there already
STUDY_ROOT = paths.study_root(config["study"]["name"])
if not os.getcwd().endswith(os.sep + os.path.normpath(STUDY_ROOT)):

    workdir: STUDY_ROOT


if not os.environ.get("MTBRIDGE_RECONCILING"):  # set by scripts/pull.sh while it reconciles
    check_artifacts_have_a_record()
    warn_about_environment(".", config["reproduction"]["environment"])  # artifacts of other library versions


GRID = StudyGrid(config)  # which jobs the study has (mtbridge.grid); below, thin adapters for the rules
STUDY = config["study"]
TRAIN = GRID.train
LANGUAGES = GRID.languages
TASKS = GRID.tasks
SYNTHETIC = GRID.synthetic
CONTINUED_LANGUAGES = GRID.continued_languages
DEVICE = config["device"]
CONDA_ENV = "../envs/mtbridge.yaml"  # every job's software for --software-deployment-method conda
ANALYSIS = config["analysis"]
RESOURCES = {kind: job_resources(config, kind) for kind in config["resources"]}
STUDY_IDENTITY = GRID.identity()
CATEGORY = REPORT_CATEGORIES  # report(..., category=CATEGORY["cka"]): the menu opens with the findings

# pretraining, continued pretraining and the corpora they read: Snakemake does not pass a rule's
# priority to the jobs it waits for, so each of them asks to start before the many short fine-tuning jobs
CRITICAL_PATH = 10


def threads_of(kind):
    return RESOURCES[kind]["threads"]


def resources_of(kind):
    """Scheduler resources of one kind of job (mem_mb, runtime in minutes, gpu); see profiles/."""
    return {name: value for name, value in RESOURCES[kind].items() if name != "threads"}


wildcard_constraints:
    **GRID.wildcard_constraints(),


def job_settings(function, **params):
    """Input function: the job's settings file (params, library function, code fingerprint, and the
    fingerprint of the job's script), written while the DAG is built and rewritten only when its
    content changes (see mtbridge.provenance)."""

    def settings(wildcards):
        if settings.script is None:
            raise WorkflowError(f"job_settings({function!r}): no script attached (attach_job_scripts)")
        values = {name: value(wildcards) if callable(value) else value for name, value in params.items()}
        path = settings_path(function, dict(wildcards.items()))
        write_if_changed(settings_record(function, canonical(values), settings.script), path)
        return path

    settings.job_function = function
    settings.script = None  # the fingerprint of the job's script: attach_job_scripts, once all are defined
    return settings


def attach_job_scripts():
    """Give each job_settings the fingerprint of the script its rule runs (called in the Snakefile once
    every rule is defined), so that an edit to a job script reruns those jobs on every machine;
    Snakemake's own code trigger lives in metadata a fresh clone lacks."""
    for defined in workflow.rules:
        for item in defined.input:
            settings = getattr(item, "callable", item)
            if not hasattr(settings, "job_function"):
                continue
            if not defined.script:
                raise WorkflowError(f"{defined.name}: a job with job_settings runs a `script`")
            basedir = defined.basedir.get_path_or_uri(secret_free=True)  # the folder of its .smk file
            script = os.path.normpath(os.path.join(basedir, defined.script))
            settings.script = script_fingerprint(script, workflow.basedir)


# --- adapters: wildcards -> the grid, the config, or a job's settings --------------------------
def wildcard(name):
    """A job param read from the wildcard ``name``."""

    def value(wildcards):
        return wildcards[name]

    return value


def objective_checkpoint(wildcards):
    return GRID.checkpoint(wildcards.model, wildcards.objective, wildcards.pseed)


def source_checkpoint(wildcards):
    return GRID.checkpoint(wildcards.model, "source", wildcards.pseed)


def model_seed(wildcards):
    """The seed a checkpoint is trained (or initialised) with: one per pretraining seed."""
    return pretraining_seed(config, int(wildcards.pseed))


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
    """A language's world, its monolingual size that of its resource level."""
    return world_slice(config, [wildcards.language], ("monolingual", "evaluation"), scaled=True)


def split_world(wildcards):
    return task_split_world(config, wildcards.task, wildcards.split, wildcards.language)


def pair_world(wildcards):
    """A pair's world, its parallel size the lower of its two languages' resource levels."""
    return world_slice(config, [wildcards.source, wildcards.target], ("parallel",), scaled=True)


def dictionary_world(wildcards):
    """What a pair's lexicon depends on: the two languages and the shared vocabulary, no sizes."""
    return world_slice(config, [wildcards.source, wildcards.target], ())


def pair_parallel(wildcards):
    return pair_parallel_settings(config, wildcards.source, wildcards.target)


# continue_pretraining reads the budget; the code-switching share is read by the code-switched corpora
CONTINUED_SETTINGS = {
    key: value for key, value in config["continued_pretraining"].items() if key != "codeswitch_share"
}
CODESWITCH_SHARE = config["continued_pretraining"].get("codeswitch_share", DEFAULT_CODESWITCH_SHARE)


def codeswitch_source(wildcards):
    return GRID.codeswitch_source(wildcards.corpus)


def codeswitch_pairs(wildcards):
    return [list(pair) for pair in GRID.codeswitch_pairs(wildcards.corpus)]


def codeswitch_dictionaries(wildcards):
    return [GRID.dictionary(*pair) for pair in GRID.codeswitch_pairs(wildcards.corpus)]


def swap_checkpoints(wildcards):
    """The `vectors` and `values` inputs of a spectral swap (the rule unpacks them)."""
    return GRID.swap_checkpoints(wildcards.model, wildcards.continued, wildcards.swap, wildcards.pseed)


def swap_objective(wildcards):
    return f"{wildcards.continued}+{wildcards.swap}"


def test_world(wildcards):
    return world_slice(config, [TRAIN, wildcards.language], ("parallel", "parallel_test"))


def continued_corpora(wildcards):
    return GRID.continued_corpora(wildcards.continued)


def finetune_settings(wildcards):
    return finetuning_settings(config, wildcards.task, wildcards.model)


def prediction_batch_size(wildcards):
    return finetune_settings(wildcards)["eval_batch_size"]


def task_of(wildcards):
    return task_definition(config, wildcards.task)


def task_meta(wildcards):
    return {
        "model": wildcards.model,
        "objective": wildcards.objective,
        "task": wildcards.task,
        "language": wildcards.language,
        "pretraining_seed": int(wildcards.pseed),
        "seed": int(wildcards.seed),
    }


def translation_languages(wildcards):
    return [TRAIN, wildcards.language]


def translation_meta(wildcards):
    return {
        "model": wildcards.model,
        "objective": wildcards.objective,
        "pretraining_seed": int(wildcards.pseed),
    }


REPORT_PAGES = GRID.report_pages()  # page -> its Markdown, title and report category


def report_markdown(wildcards):
    return REPORT_PAGES[wildcards.page]["markdown"]


def report_title(wildcards):
    return REPORT_PAGES[wildcards.page]["title"]


def report_category(wildcards):
    return REPORT_PAGES[wildcards.page]["category"]


def dump_settings(wildcards):
    return {key: ANALYSIS[key] for key in ("batch_size", "pooling", "precision")}


def language_dumps(wildcards):
    return GRID.language_dumps(wildcards.model, wildcards.objective, wildcards.pseed)


def family_cka_models(wildcards):
    return GRID.family_cka_models(wildcards.model)


def family_spectra(wildcards):
    return GRID.family_spectra(wildcards.model)


def family_alignment(wildcards):
    return GRID.family_alignment(wildcards.model)


def objective_cka_languages(wildcards):
    return GRID.objective_cka_languages(wildcards.model, wildcards.objective)


def xglue_release_input(wildcards):
    return [paths.xglue_release()] if config["xglue"]["source"] == "release" else []


def evaluation_inputs(wildcards):
    """XNLI's test premises are the evaluation sentences when `evaluation.source` is xnli."""
    if config["evaluation"]["source"] == "xnli":
        return [paths.task_split("xnli", "test", wildcards.language)]
    return []


def evaluation_reference(wildcards):
    """XNLI's English test split: where each premise starts, the key that aligns every language."""
    if config["evaluation"]["source"] == "xnli":
        return [paths.task_split("xnli", "test", TRAIN)]
    return []


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
