"""One Markdown table or the findings as an HTML page of the Snakemake report."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(snakemake, markdown_path=snakemake.input.markdown, html_path=snakemake.output[0], title=params.title)
