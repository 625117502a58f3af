"""The shared subword tokenizer, trained on the monolingual corpora."""
from mtbridge.jobs import run

run(
    "mtbridge.tokenizer:build_tokenizer", snakemake.log[0],
    corpus_paths=list(snakemake.input), languages=list(snakemake.params.languages),
    vocab_size=snakemake.params.vocab_size, per_language=snakemake.params.per_language,
    directory=snakemake.output[0],
)
