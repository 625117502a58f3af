"""chrF++ per direction and objective for one model family, the copy floor as a line."""
from mtbridge.jobs import run_job

run_job(snakemake, table_path=snakemake.input.table, model=snakemake.wildcards.model,
        output_path=snakemake.output[0])
