"""Bitext retrieval and the language-identification probe at every layer of one model × objective."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    dump_paths=dict(zip(params.languages, snakemake.input.dumps, strict=True)),
    output_path=snakemake.output[0],
    model=snakemake.wildcards.model, objective=snakemake.wildcards.objective,
    pretraining_seed=int(snakemake.wildcards.pseed),
)
