"""The CKA-between-models table."""
from mtbridge.jobs import run

run(
    "mtbridge.analysis:write_cka_model_table", snakemake.log[0],
    paths=list(snakemake.input), csv_path=snakemake.output.csv, markdown_path=snakemake.output.markdown,
)
