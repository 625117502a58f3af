"""Continued pretraining of the source checkpoint (MT directions or the denoising control)."""
from mtbridge.jobs import run

run(
    "mtbridge.pretraining:continue_pretraining", snakemake.log[0],
    spec=snakemake.params.spec, objective=snakemake.wildcards.continued,
    languages=list(snakemake.params.languages), train_language=snakemake.params.train_language,
    settings=snakemake.params.settings, tokenizer_dir=snakemake.input.tokenizer,
    source_dir=snakemake.input.source, corpus_paths=list(snakemake.input.corpora),
    output_dir=snakemake.output[0], seed=snakemake.params.seed, threads=snakemake.threads,
)
