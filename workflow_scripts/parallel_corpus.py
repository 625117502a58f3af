"""A parallel corpus for one language pair."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    world=params.world, seed=params.seed,
    source=snakemake.wildcards.source, target=snakemake.wildcards.target, path=snakemake.output[0],
)
