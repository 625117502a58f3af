"""The aggregated zero-shot transfer tables."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    metric_paths=list(snakemake.input.metrics), csv_path=snakemake.output.csv,
    markdown_path=snakemake.output.markdown, summary_path=snakemake.output.summary,
    models=list(params.models), objectives=dict(params.objectives),
    tasks=list(params.tasks), languages=dict(params.languages),
    seeds=list(params.seeds),
    train_language=params.train_language,
)
