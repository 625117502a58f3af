"""Zero-shot prediction of one language's test set, with its metric."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    task=params.task, spec=params.spec, languages=list(params.languages),
    finetuned_dir=snakemake.input.finetuned, test_path=snakemake.input.test,
    predictions_path=snakemake.output.predictions, metrics_path=snakemake.output.metrics,
    meta=params.meta, threads=snakemake.threads, batch_size=params.batch_size, device=params.device,
)
