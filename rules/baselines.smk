# Surface baselines (mtbridge.baselines): trained on the training language's train split and tested
# zero-shot on every test language, like the models; one job per baseline × task × language. Which
# baselines a task gets is mtbridge.tasks.task_baselines (e.g. `overlap` for pair tasks only).
from mtbridge.tasks import BASELINES, task_baselines


wildcard_constraints:
    baseline="|".join(BASELINES),


def wildcard(name):
    """A job param read from the wildcard ``name``."""
    return lambda wildcards: wildcards[name]


def baseline_runs():
    """(baseline, task, language) of every baseline job of the study."""
    return [(baseline, task, language) for task in TASKS
            for baseline in task_baselines(task_definition(config, task))
            for language in TASK_LANGUAGES[task]]


def all_baseline_metrics():
    return [paths.baseline_metrics(*run) for run in baseline_runs()]


def all_baseline_predictions():
    return [paths.baseline_predictions(*run) for run in baseline_runs()]


rule baseline:
    input:
        train=paths.task_split("{task}", "train", TRAIN),
        test=paths.task_split("{task}", "test", "{language}"),
        settings=job_settings(
            "mtbridge.baselines:run_baseline",
            baseline=wildcard("baseline"),
            task=task_of,
            language=wildcard("language"),
        ),
    output:
        predictions=paths.baseline_predictions("{baseline}", "{task}", "{language}"),
        metrics=paths.baseline_metrics("{baseline}", "{task}", "{language}"),
    threads: threads_of("prediction")
    resources:
        **resources_of("prediction"),
    log:
        paths.log("baseline", "{baseline}", "{task}", "{language}"),
    script:
        "../workflow_scripts/baseline.py"


rule baselines:
    # every baseline output of the study: `snakemake baselines`
    input:
        all_baseline_metrics(),
        all_baseline_predictions(),
