"""CKA(source, variant) by layer for one model family."""
from mtbridge.jobs import run_job

run_job(snakemake, paths=list(snakemake.input.cka),
    output_path=snakemake.output[0])
