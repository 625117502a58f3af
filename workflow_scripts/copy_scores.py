"""The copy-the-source floor of one held-out test set, both directions."""
from mtbridge.jobs import run_job

run_job(snakemake, test_path=snakemake.input.test, scores_path=snakemake.output[0])
