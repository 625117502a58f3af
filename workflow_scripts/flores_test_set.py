"""Held-out sentence pairs of the translation check for one en–X pair: two FLORES sets matched by id."""
from mtbridge.jobs import run_job

run_job(snakemake, source_path=snakemake.input.source, target_path=snakemake.input.target,
        path=snakemake.output[0])
