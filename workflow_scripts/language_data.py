"""Synthetic corpora and task splits of one language."""
from mtbridge.jobs import run

run(
    "mtbridge.data:write_language_data", snakemake.log[0],
    world=snakemake.params.world, seed=snakemake.params.seed,
    language=snakemake.wildcards.language, tasks=list(snakemake.params.tasks),
    monolingual_path=snakemake.output.monolingual, evaluation_path=snakemake.output.evaluation,
    task_paths=snakemake.params.task_paths,
)
