"""The budget table: steps, sequences and tokens each pretraining objective read."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    checkpoints=params.checkpoints, seq2seq=params.seq2seq, budget=params.budget, study=params.study,
    csv_path=snakemake.output.csv, markdown_path=snakemake.output.markdown,
)
