"""Zero-shot prediction of one language's test set, with its metric."""
from mtbridge.jobs import run

spec = snakemake.params.spec
run(
    "mtbridge.finetuning:predict", snakemake.log[0],
    task=snakemake.wildcards.task, topics=list(snakemake.params.topics),
    architecture=spec["architecture"], languages=list(snakemake.params.languages),
    max_length=spec["max_length"], tokenizer_dir=snakemake.input.tokenizer,
    finetuned_dir=snakemake.input.finetuned, test_path=snakemake.input.test,
    predictions_path=snakemake.output.predictions, metrics_path=snakemake.output.metrics,
    meta=snakemake.params.meta, threads=snakemake.threads,
)
