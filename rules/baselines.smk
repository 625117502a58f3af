# Surface baselines (mtbridge.baselines): trained on the training language's train split and tested
# zero-shot on every test language, like the models; one job per baseline × task × language. Which
# baselines a task gets is mtbridge.tasks.task_baselines (e.g. `overlap` for pair tasks only).
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
    log:
        paths.log("baseline", "{baseline}", "{task}", "{language}"),
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/baseline.py"


rule baselines:
    # every baseline output of the study: `snakemake baselines`
    input:
        GRID.baseline_metrics(),
        GRID.baseline_predictions(),
