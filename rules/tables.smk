# The paper's zero-shot transfer table: rows model × objective, columns task × language.


rule transfer_table:
    input:
        metrics=all_metrics(),
        settings=job_settings(
            "mtbridge.tables:write_transfer_tables",
            models=STUDY["models"],
            objectives={model: config["models"][model]["objectives"] for model in STUDY["models"]},
            tasks=TASKS,
            languages=TASK_LANGUAGES,
            seeds=SEEDS,
            train_language=TRAIN,
        ),
    output:
        csv=report(paths.transfer_table("csv"), category="Transfer",
                   caption="../report/transfer.rst"),
        markdown=paths.transfer_table("md"),
        summary=paths.summary(),
    log:
        paths.log("transfer_table", "transfer"),
    script:
        "../workflow_scripts/transfer_table.py"
