"""The training split of one task, in the training language."""
from mtbridge.jobs import run

run(
    "mtbridge.data:write_task_split", snakemake.log[0],
    world=snakemake.params.world, seed=snakemake.params.seed, task=snakemake.wildcards.task,
    split="train", language=next(iter(snakemake.params.world["languages"])),
    path=snakemake.output[0],
)
