"""Greedy translation of one held-out test set, both directions, with one checkpoint; its scores."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    spec=params.spec, languages=list(params.languages), checkpoint_dir=snakemake.input.checkpoint,
    test_path=snakemake.input.test, hypotheses_path=snakemake.output.hypotheses,
    scores_path=snakemake.output.scores, meta=params.meta, threads=snakemake.threads, device=params.device,
)
