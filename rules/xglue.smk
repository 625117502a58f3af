# The real study's data: XGLUE task splits (from the hub's Parquet copy or a checksum-verified
# local release), the English-centric parallel corpus of the pipeline's own MT continued
# pretraining, and the parallel evaluation sentences of the CKA analysis. Jobs, never the DAG,
# touch the hub: building the DAG needs no network.


def xglue_release_input(wildcards):
    return [paths.xglue_release()] if config["xglue"]["source"] == "release" else []


def evaluation_inputs(wildcards):
    """XNLI's test premises are the evaluation sentences when `evaluation.source` is xnli."""
    if config["evaluation"]["source"] == "xnli":
        return [paths.task_split("xnli", "test", wildcards.language)]
    return []


def evaluation_reference(wildcards):
    """XNLI's English test split: where each premise starts, the key that aligns every language."""
    if config["evaluation"]["source"] == "xnli":
        return [paths.task_split("xnli", "test", TRAIN)]
    return []


rule xglue_release:
    input:
        settings=job_settings("mtbridge.xglue:install_release", release=config["xglue"].get("release")),
    output:
        directory(paths.xglue_release()),
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    log:
        paths.log("xglue_release", "release"),
    script:
        "../workflow_scripts/xglue_release.py"


rule xglue_split:
    input:
        release=xglue_release_input,
        settings=job_settings("mtbridge.xglue:write_xglue_split", xglue=config["xglue"]),
    output:
        paths.task_split("{task}", "{split}", "{language}"),
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    log:
        paths.log("xglue_split", "{task}", "{split}", "{language}"),
    script:
        "../workflow_scripts/xglue_split.py"


rule hub_parallel_corpus:
    input:
        settings=job_settings("mtbridge.corpora:write_parallel_corpus", parallel=config.get("parallel")),
    output:
        paths.parallel_corpus("{source}", "{target}"),
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    log:
        paths.log("hub_parallel_corpus", "{source}-{target}"),
    script:
        "../workflow_scripts/hub_parallel_corpus.py"


rule evaluation_sentences:
    input:
        test=evaluation_inputs,
        reference=evaluation_reference,
        settings=job_settings("mtbridge.corpora:write_evaluation_set", evaluation=config["evaluation"]),
    output:
        paths.evaluation_set("{language}"),
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    log:
        paths.log("evaluation_sentences", "{language}"),
    script:
        "../workflow_scripts/evaluation_sentences.py"
