"""Continued pretraining of the source checkpoint (MT directions or the denoising control)."""
from mtbridge.jobs import job_params, resume_settings, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    spec=params.spec, objective=snakemake.wildcards.continued,
    languages=list(params.languages), train_language=params.train_language,
    settings=params.settings, source_dir=snakemake.input.source,
    corpus_paths=list(snakemake.input.corpora), output_dir=snakemake.output[0],
    seed=params.seed, threads=snakemake.threads, device=params.device,
    resume=resume_settings(snakemake),
)
