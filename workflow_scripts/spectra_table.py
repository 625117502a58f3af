"""The weight-spectra summary table."""
from mtbridge.jobs import run

run(
    "mtbridge.analysis:write_spectra_table", snakemake.log[0],
    paths=list(snakemake.input), csv_path=snakemake.output.csv, markdown_path=snakemake.output.markdown,
    top_k=snakemake.params.top_k,
)
