"""The aggregated zero-shot transfer tables."""
from mtbridge.jobs import run

run(
    "mtbridge.tables:write_transfer_tables", snakemake.log[0],
    metric_paths=list(snakemake.input), csv_path=snakemake.output.csv,
    markdown_path=snakemake.output.markdown, summary_path=snakemake.output.summary,
    models=list(snakemake.params.models), objectives=dict(snakemake.params.objectives),
    tasks=list(snakemake.params.tasks), languages=list(snakemake.params.languages),
    seeds=list(snakemake.params.seeds),
    train_language=snakemake.params.train_language,
)
