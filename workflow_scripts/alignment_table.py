"""The alignment table: retrieval and language-ID probe accuracy per model × objective × layer."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    paths=list(snakemake.input.alignment), csv_path=snakemake.output.csv,
    markdown_path=snakemake.output.markdown, train_language=params.train_language, study=params.study,
)
