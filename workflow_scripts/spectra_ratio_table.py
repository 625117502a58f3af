"""σ_max and stable rank of each variant over the source's, per module type (and layer)."""
from mtbridge.jobs import job_params, run_job

run_job(
    snakemake,
    paths=list(snakemake.input.spectra), csv_path=snakemake.output.csv,
    markdown_path=snakemake.output.markdown, study=job_params(snakemake).study,
)
