"""Singular values of every weight matrix of one checkpoint."""
from mtbridge.jobs import job_params, run_job

run_job(
    snakemake,
    checkpoint_dir=snakemake.input.checkpoint, output_path=snakemake.output[0],
    model=snakemake.wildcards.model, objective=snakemake.wildcards.objective,
    pretraining_seed=int(snakemake.wildcards.pseed), threads=snakemake.threads,
    device=job_params(snakemake).device,
)
