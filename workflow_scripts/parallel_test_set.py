"""Held-out sentence pairs of the translation check for one en–X pair (synthetic world)."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    world=params.world, seed=params.seed,
    source=params.source, target=snakemake.wildcards.language, path=snakemake.output[0],
)
