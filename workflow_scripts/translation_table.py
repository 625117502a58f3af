"""The translation table: every checkpoint's chrF++ and BLEU per direction, and the copy floor."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    paths=[*snakemake.input.scores, *snakemake.input.copies], rows=params.rows, languages=params.languages,
    train_language=params.train_language, mt_pairs=params.mt_pairs, study=params.study,
    csv_path=snakemake.output.csv, markdown_path=snakemake.output.markdown,
)
