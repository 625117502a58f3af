"""The training split of one task, in the training language."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    world=params.world, seed=params.seed, task=snakemake.wildcards.task,
    split="train", language=next(iter(params.world["languages"])),
    path=snakemake.output[0],
)
