"""Retrieval and language-ID probe accuracy by layer, one curve per objective of a family."""
from mtbridge.jobs import job_params, run_job

run_job(
    snakemake,
    paths=list(snakemake.input.alignment), output_path=snakemake.output[0],
    train_language=job_params(snakemake).train_language,
)
