"""One XGLUE task split of one language, in the project's task schema."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    xglue=params.xglue, task=snakemake.wildcards.task, split=snakemake.wildcards.split,
    language=snakemake.wildcards.language, path=snakemake.output[0],
    release_dir=snakemake.input.release[0] if snakemake.input.release else None,
)
