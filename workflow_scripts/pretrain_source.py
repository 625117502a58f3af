"""Objective `source`: pretraining on the monolingual corpora."""
from mtbridge.jobs import run

run(
    "mtbridge.pretraining:pretrain_source", snakemake.log[0],
    spec=snakemake.params.spec, languages=list(snakemake.params.languages),
    tokenizer_dir=snakemake.input.tokenizer, corpus_paths=list(snakemake.input.corpora),
    output_dir=snakemake.output[0], seed=snakemake.params.seed, threads=snakemake.threads,
)
