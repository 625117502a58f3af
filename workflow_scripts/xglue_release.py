"""The official XGLUE release (folder or tarball), checksum-verified and installed into the project."""
from mtbridge.jobs import job_params, run_job

release = job_params(snakemake).release
run_job(snakemake, source=release["path"], sha256=release["sha256"], destination=snakemake.output[0])
