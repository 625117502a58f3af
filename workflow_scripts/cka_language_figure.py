"""Layer × language CKA heatmap of one model × objective."""
from mtbridge.jobs import run

run(
    "mtbridge.figures:cka_language_heatmap", snakemake.log[0],
    path=snakemake.input[0], output_path=snakemake.output[0],
    train_language=snakemake.params.train_language,
)
