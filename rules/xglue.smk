# The real study's data: XGLUE task splits (from the hub's Parquet copy or a checksum-verified
# local release), the English-centric parallel corpus of the pipeline's own MT continued
# pretraining, and the parallel evaluation sentences of the CKA analysis. Jobs, never the DAG,
# touch the hub: building the DAG needs no network.


rule xglue_release:
    input:
        settings=job_settings("mtbridge.xglue:install_release", release=config["xglue"].get("release")),
    output:
        directory(paths.xglue_release()),
    log:
        paths.log("xglue_release", "release"),
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/xglue_release.py"


rule xglue_split:
    input:
        release=xglue_release_input,
        settings=job_settings("mtbridge.xglue:write_xglue_split", xglue=config["xglue"]),
    output:
        paths.task_split("{task}", "{split}", "{language}"),
    log:
        paths.log("xglue_split", "{task}", "{split}", "{language}"),
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/xglue_split.py"


rule hub_parallel_corpus:
    input:
        settings=job_settings("mtbridge.corpora:write_parallel_corpus", parallel=pair_parallel),
    output:
        paths.parallel_corpus("{source}", "{target}"),
    log:
        paths.log("hub_parallel_corpus", "{source}-{target}"),
    priority: CRITICAL_PATH  # feeds continued pretraining
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/hub_parallel_corpus.py"


rule evaluation_sentences:
    input:
        test=evaluation_inputs,
        reference=evaluation_reference,
        settings=job_settings("mtbridge.corpora:write_evaluation_set", evaluation=config["evaluation"]),
    output:
        paths.evaluation_set("{language}"),
    log:
        paths.log("evaluation_sentences", "{language}"),
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/evaluation_sentences.py"


rule induced_dictionary:
    # codeswitch-cp at paper scale: the en–X dictionary induced from the parallel corpus where
    # parallel.dictionaries gives no file (mtbridge.codeswitch.induce_dictionary)
    input:
        parallel=paths.parallel_corpus("{source}", "{target}"),
        settings=job_settings(
            "mtbridge.codeswitch:write_induced_dictionary",
            source=wildcard("source"),
            target=wildcard("target"),
        ),
    output:
        paths.dictionary("{source}", "{target}"),
    log:
        paths.log("induced_dictionary", "{source}-{target}"),
    priority: CRITICAL_PATH  # feeds continued pretraining
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/induced_dictionary.py"
