# The paper's zero-shot transfer table: rows model × objective (surface baselines first), columns
# task × language; bootstrap intervals, paired tests against source / denoise-cp, and the findings.


def ranking_test_splits():
    """Test splits of ranking tasks (WPR): their text_a groups the predicted pages into nDCG's queries."""
    return [paths.task_split(task, "test", language) for task in TASKS
            if task_definition(config, task)["metric"] == "ndcg" for language in TASK_LANGUAGES[task]]


rule transfer_table:
    input:
        metrics=all_metrics(),
        predictions=all_predictions(),
        queries=ranking_test_splits(),
        baseline_metrics=all_baseline_metrics(),
        baseline_predictions=all_baseline_predictions(),
        settings=job_settings(
            "mtbridge.tables:write_transfer_tables",
            models=STUDY["models"],
            objectives={model: config["models"][model]["objectives"] for model in STUDY["models"]},
            tasks=TASKS,
            languages=TASK_LANGUAGES,
            seeds=SEEDS,
            pretraining_seeds=PSEEDS,
            train_language=TRAIN,
            study=study_identity(),
            task_definitions={task: task_definition(config, task) for task in TASKS},
        ),
    output:
        csv=report(paths.transfer_table("csv"), category="Transfer",
                   caption="../report/transfer.rst"),
        markdown=report(paths.transfer_table("md"), category="Transfer",
                        caption="../report/transfer_markdown.rst"),
        tests=report(paths.transfer_tests(), category="Transfer",
                     caption="../report/transfer_tests.rst"),
        findings=report(paths.findings(), category="Transfer", caption="../report/findings.rst"),
        summary=paths.summary(),
    log:
        paths.log("transfer_table", "transfer"),
    script:
        "../workflow_scripts/transfer_table.py"
