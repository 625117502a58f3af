"""The CKA-between-models table."""
from mtbridge.jobs import run_job

run_job(
    snakemake,
    paths=list(snakemake.input.cka), csv_path=snakemake.output.csv, markdown_path=snakemake.output.markdown,
)
