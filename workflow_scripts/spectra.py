"""Singular values of every weight matrix of one checkpoint."""
from mtbridge.jobs import run

run(
    "mtbridge.analysis:write_spectra", snakemake.log[0],
    checkpoint_dir=snakemake.input[0], output_path=snakemake.output[0],
    model=snakemake.wildcards.model, objective=snakemake.wildcards.objective,
)
