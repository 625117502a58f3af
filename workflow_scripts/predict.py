"""Zero-shot prediction of one language's test set, with its metric."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
spec = params.spec
run_job(
    snakemake,
    task=snakemake.wildcards.task, topics=list(params.topics),
    architecture=spec["architecture"], languages=list(params.languages),
    max_length=spec["max_length"], tokenizer_dir=snakemake.input.tokenizer,
    finetuned_dir=snakemake.input.finetuned, test_path=snakemake.input.test,
    predictions_path=snakemake.output.predictions, metrics_path=snakemake.output.metrics,
    meta=params.meta, threads=snakemake.threads,
)
