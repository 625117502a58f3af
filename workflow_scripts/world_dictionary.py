"""The synthetic world's lexicon of one language pair, as a MUSE-style dictionary."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    world=params.world, seed=params.seed, source=params.source, target=params.target,
    path=snakemake.output[0],
)
