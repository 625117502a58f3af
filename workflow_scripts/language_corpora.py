"""Synthetic monolingual corpus and evaluation set of one language."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    world=params.world, seed=params.seed, language=snakemake.wildcards.language,
    monolingual_path=snakemake.output.monolingual, evaluation_path=snakemake.output.evaluation,
)
