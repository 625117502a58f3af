"""The weight-spectra summary table."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    paths=list(snakemake.input.spectra), csv_path=snakemake.output.csv,
    markdown_path=snakemake.output.markdown,
    top_k=params.top_k, study=params.study,
)
