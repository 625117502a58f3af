"""The CKA-across-languages table."""
from mtbridge.jobs import run

run(
    "mtbridge.analysis:write_cka_language_table", snakemake.log[0],
    paths=list(snakemake.input), csv_path=snakemake.output.csv, markdown_path=snakemake.output.markdown,
    train_language=snakemake.params.train_language,
)
