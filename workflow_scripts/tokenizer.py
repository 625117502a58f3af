"""The shared subword tokenizer, trained on the monolingual corpora."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    corpus_paths=list(snakemake.input.corpora), languages=list(params.languages),
    vocab_size=params.vocab_size, per_language=params.per_language,
    directory=snakemake.output[0],
)
