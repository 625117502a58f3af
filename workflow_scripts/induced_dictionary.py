"""A language pair's dictionary induced from its parallel corpus (Dice, mutual best)."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    parallel_paths=[snakemake.input.parallel], source=params.source, target=params.target,
    output_path=snakemake.output[0],
)
