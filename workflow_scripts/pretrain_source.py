"""Objective `source`: pretraining on the monolingual corpora."""
from mtbridge.jobs import job_params, resume_settings, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    spec=params.spec, languages=list(params.languages),
    tokenizer_dir=snakemake.input.tokenizer, corpus_paths=list(snakemake.input.corpora),
    output_dir=snakemake.output[0], seed=params.seed, threads=snakemake.threads, device=params.device,
    resume=resume_settings(snakemake),
)
