"""CKA between every pair of languages at every layer of one model × objective."""
from mtbridge.jobs import run

run(
    "mtbridge.analysis:cka_across_languages", snakemake.log[0],
    dump_paths=dict(zip(snakemake.params.languages, snakemake.input, strict=True)),
    output_path=snakemake.output[0], estimator=snakemake.params.estimator,
    model=snakemake.wildcards.model, objective=snakemake.wildcards.objective,
)
