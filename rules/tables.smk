# The paper's zero-shot transfer table: rows model × objective (surface baselines first), columns
# task × language; bootstrap intervals, paired tests against source / denoise-cp, and the findings.


rule transfer_table:
    input:
        metrics=GRID.metrics(),
        predictions=GRID.predictions(),
        queries=GRID.ranking_test_splits(),
        baseline_metrics=GRID.baseline_metrics(),
        baseline_predictions=GRID.baseline_predictions(),
        settings=job_settings(
            "mtbridge.tables:write_transfer_tables",
            models=GRID.models,
            objectives={model: config["models"][model]["objectives"] for model in GRID.models},
            tasks=TASKS,
            languages=GRID.task_languages,
            seeds=GRID.seeds,
            pretraining_seeds=GRID.pseeds,
            train_language=TRAIN,
            study=STUDY_IDENTITY,
            task_definitions={task: task_definition(config, task) for task in TASKS},
            resource_levels=GRID.resource_levels,
        ),
    output:
        csv=report(
            paths.transfer_table("csv"), category=CATEGORY["transfer"], caption="../report/transfer.rst"
        ),
        markdown=report(
            paths.transfer_table("md"),
            category=CATEGORY["transfer"],
            caption="../report/transfer_markdown.rst",
        ),
        tests=report(
            paths.transfer_tests(), category=CATEGORY["transfer"], caption="../report/transfer_tests.rst"
        ),
        findings=report(paths.findings(), category=CATEGORY["findings"], caption="../report/findings.rst"),
        summary=paths.summary(),
    log:
        paths.log("transfer_table", "transfer"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/transfer_table.py"


rule report_page:
    input:
        markdown=report_markdown,
        settings=job_settings("mtbridge.report_pages:write_report_page", title=report_title),
    output:
        report(paths.report_page("{page}"), category=report_category, caption="../report/page.rst"),
    log:
        paths.log("report_page", "{page}"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/report_page.py"
