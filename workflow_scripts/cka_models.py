"""Layer × layer CKA between a source model and one continued variant on one language."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    source_path=snakemake.input.source, variant_path=snakemake.input.variant,
    output_path=snakemake.output[0], estimator=params.estimator,
    model=snakemake.wildcards.model, objective=snakemake.wildcards.variant,
    language=snakemake.wildcards.language, pretraining_seed=int(snakemake.wildcards.pseed),
)
