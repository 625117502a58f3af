"""Objective `random-init`: the architecture without pretraining."""
from mtbridge.jobs import run

run(
    "mtbridge.pretraining:random_init", snakemake.log[0],
    spec=snakemake.params.spec, tokenizer_dir=snakemake.input.tokenizer,
    output_dir=snakemake.output[0], seed=snakemake.params.seed, threads=snakemake.threads,
)
