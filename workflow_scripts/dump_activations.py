"""Pooled activations of every encoder layer on one language's evaluation set."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
spec, settings = params.spec, params.settings
run_job(
    snakemake,
    architecture=spec["architecture"], languages=list(params.languages),
    language=snakemake.wildcards.language, max_length=spec["max_length"],
    tokenizer_dir=snakemake.input.tokenizer, checkpoint_dir=snakemake.input.checkpoint,
    evaluation_path=snakemake.input.evaluation, output_path=snakemake.output[0],
    pooling=settings["pooling"], batch_size=settings["batch_size"], precision=settings["precision"],
    threads=snakemake.threads,
    meta={"model": snakemake.wildcards.model, "objective": snakemake.wildcards.objective},
)
