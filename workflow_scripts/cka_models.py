"""Layer × layer CKA between a source model and one continued variant on one language."""
from mtbridge.jobs import run

run(
    "mtbridge.analysis:cka_between_models", snakemake.log[0],
    source_path=snakemake.input.source, variant_path=snakemake.input.variant,
    output_path=snakemake.output[0], estimator=snakemake.params.estimator,
    model=snakemake.wildcards.model, objective=snakemake.wildcards.variant,
    language=snakemake.wildcards.language,
)
