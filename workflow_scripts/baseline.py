"""A surface baseline trained on the train language, scored on one language's test set."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    baseline=params.baseline, task=params.task, language=params.language,
    train_path=snakemake.input.train, test_path=snakemake.input.test,
    predictions_path=snakemake.output.predictions, metrics_path=snakemake.output.metrics,
)
