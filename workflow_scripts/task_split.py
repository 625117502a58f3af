"""One synthetic task split of one language."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    world=params.world, seed=params.seed, task=snakemake.wildcards.task,
    split=snakemake.wildcards.split, language=snakemake.wildcards.language, path=snakemake.output[0],
)
