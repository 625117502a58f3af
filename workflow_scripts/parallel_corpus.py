"""A parallel corpus for one language pair."""
from mtbridge.jobs import run

run(
    "mtbridge.data:write_parallel_corpus", snakemake.log[0],
    world=snakemake.params.world, seed=snakemake.params.seed,
    source=snakemake.wildcards.source, target=snakemake.wildcards.target, path=snakemake.output[0],
)
