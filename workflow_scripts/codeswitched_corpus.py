"""A corpus with a share of its words replaced by dictionary translations (codeswitch-cp)."""
from mtbridge.jobs import job_params, run_job

params = job_params(snakemake)
dictionaries = [{"source": source, "target": target, "path": path}
                for (source, target), path in zip(params.pairs, snakemake.input.dictionaries, strict=True)]
run_job(
    snakemake,
    corpus_path=snakemake.input.corpus, dictionaries=dictionaries, share=params.share, seed=params.seed,
    output_path=snakemake.output[0],
)
