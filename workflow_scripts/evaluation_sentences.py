"""One language's parallel evaluation sentences (FLORES or XNLI test premises) for the CKA analysis."""
from mtbridge.jobs import job_params, run_job

run_job(
    snakemake,
    evaluation=job_params(snakemake).evaluation, language=snakemake.wildcards.language,
    path=snakemake.output[0], test_path=snakemake.input.test[0] if snakemake.input.test else None,
    reference_path=snakemake.input.reference[0] if snakemake.input.reference else None,
)
