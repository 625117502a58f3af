"""The aggregated zero-shot transfer tables, their paired tests and the findings."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    metric_paths=list(snakemake.input.metrics), prediction_paths=list(snakemake.input.predictions),
    query_paths=list(snakemake.input.queries),
    baseline_metric_paths=list(snakemake.input.baseline_metrics),
    baseline_prediction_paths=list(snakemake.input.baseline_predictions),
    csv_path=snakemake.output.csv, markdown_path=snakemake.output.markdown,
    tests_path=snakemake.output.tests, findings_path=snakemake.output.findings,
    summary_path=snakemake.output.summary,
    models=list(params.models), objectives=dict(params.objectives),
    tasks=list(params.tasks), languages=dict(params.languages),
    seeds=list(params.seeds), pretraining_seeds=list(params.pretraining_seeds),
    train_language=params.train_language, study=params.study,
    task_definitions=dict(params.task_definitions), resource_levels=dict(params.resource_levels),
)
