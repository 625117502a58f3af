"""Objective `random-init`: the architecture without pretraining."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    spec=params.spec, tokenizer_dir=snakemake.input.base,
    output_dir=snakemake.output[0], seed=params.seed, threads=snakemake.threads,
)
