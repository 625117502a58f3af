"""A spectral swap: one checkpoint's singular vectors with another's singular values (issue #15)."""
from mtbridge.jobs import job_params, run_job

run_job(
    snakemake,
    vectors_dir=snakemake.input.vectors, values_dir=snakemake.input.values,
    output_dir=snakemake.output[0], objective=job_params(snakemake).objective, threads=snakemake.threads,
)
