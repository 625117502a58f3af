"""The CKA-between-models table."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    paths=list(snakemake.input.cka), csv_path=snakemake.output.csv, markdown_path=snakemake.output.markdown,
    study=params.study,
)
