"""One en–X pair of the real parallel corpus (e.g. OPUS-100) for MT continued pretraining."""
from mtbridge.jobs import job_params, run_job

parallel = job_params(snakemake).parallel
run_job(
    snakemake,
    ref=parallel["hub"], key="parallel.hub", source=snakemake.wildcards.source,
    target=snakemake.wildcards.target, split=parallel["split"], max_pairs=parallel["max_pairs"],
    path=snakemake.output[0],
)
