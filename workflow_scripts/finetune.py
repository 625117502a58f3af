"""Fine-tuning on the training language with dev-set model selection."""
from mtbridge.jobs import run

spec = snakemake.params.spec
run(
    "mtbridge.finetuning:finetune", snakemake.log[0],
    task=snakemake.wildcards.task, topics=list(snakemake.params.topics),
    architecture=spec["architecture"], languages=list(snakemake.params.languages),
    settings=snakemake.params.settings, max_length=spec["max_length"],
    tokenizer_dir=snakemake.input.tokenizer, checkpoint_dir=snakemake.input.checkpoint,
    train_path=snakemake.input.train, dev_path=snakemake.input.dev, output_dir=snakemake.output[0],
    seed=int(snakemake.wildcards.seed), threads=snakemake.threads,
    head={"model": snakemake.wildcards.model, "objective": snakemake.wildcards.objective},
)
