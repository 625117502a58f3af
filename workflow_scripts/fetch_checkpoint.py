"""A pinned hub checkpoint (or a local copy) brought into the pipeline as safetensors plus tokenizer."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    ref=params.ref, key=params.key, architecture=params.spec["architecture"],
    output_dir=snakemake.output[0], trust_remote_code=params.spec["trust_remote_code"],
    max_length=params.spec["max_length"],
)
