"""Pooled activations of every encoder layer on one language's evaluation set."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
settings = params.settings
run_job(
    snakemake,
    spec=params.spec, languages=list(params.languages), language=snakemake.wildcards.language,
    checkpoint_dir=snakemake.input.checkpoint, evaluation_path=snakemake.input.evaluation,
    output_path=snakemake.output[0], pooling=settings["pooling"], batch_size=settings["batch_size"],
    precision=settings["precision"], threads=snakemake.threads, device=params.device,
    meta={"model": snakemake.wildcards.model, "objective": snakemake.wildcards.objective,
          "pretraining_seed": int(snakemake.wildcards.pseed)},
)
