"""Singular-value curves of a source model and its variants, per module type."""
from mtbridge.jobs import run_job

run_job(snakemake, paths=list(snakemake.input.spectra),
    output_path=snakemake.output[0])
