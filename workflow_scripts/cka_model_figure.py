"""CKA(source, variant) by layer for one model family."""
from mtbridge.jobs import run

run("mtbridge.figures:cka_model_curves", snakemake.log[0], paths=list(snakemake.input),
    output_path=snakemake.output[0])
