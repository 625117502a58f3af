"""Fine-tuning on the training language with dev-set model selection."""
from mtbridge.jobs import job_params, resume_settings, run_job

params = job_params(snakemake)
run_job(
    snakemake,
    task=params.task, spec=params.spec, languages=list(params.languages), settings=params.settings,
    checkpoint_dir=snakemake.input.checkpoint, train_path=snakemake.input.train,
    dev_path=snakemake.input.dev, output_dir=snakemake.output[0],
    seed=int(snakemake.wildcards.seed), threads=snakemake.threads, device=params.device,
    resume=resume_settings(snakemake),
    head={"model": snakemake.wildcards.model, "objective": snakemake.wildcards.objective},
)
