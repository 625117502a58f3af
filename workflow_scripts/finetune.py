"""Fine-tuning on the training language with dev-set model selection."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
spec = params.spec
run_job(
    snakemake,
    task=snakemake.wildcards.task, topics=list(params.topics),
    architecture=spec["architecture"], languages=list(params.languages),
    settings=params.settings, max_length=spec["max_length"],
    tokenizer_dir=snakemake.input.tokenizer, checkpoint_dir=snakemake.input.checkpoint,
    train_path=snakemake.input.train, dev_path=snakemake.input.dev, output_dir=snakemake.output[0],
    seed=int(snakemake.wildcards.seed), threads=snakemake.threads,
    head={"model": snakemake.wildcards.model, "objective": snakemake.wildcards.objective},
)
