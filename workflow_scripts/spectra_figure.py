"""Singular-value curves of a source model and its variants, per module type."""
from mtbridge.jobs import run

run("mtbridge.figures:spectra_curves", snakemake.log[0], paths=list(snakemake.input),
    output_path=snakemake.output[0])
