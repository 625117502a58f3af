"""Layer × language CKA heatmap of one model × objective."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    paths=list(snakemake.input.cka), output_path=snakemake.output[0],
    train_language=params.train_language,
)
