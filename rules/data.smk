# The embedded synthetic world: corpora per language, one job per task split (task × split × language),
# parallel corpora per pair, and the shared subword tokenizer.


rule language_corpora:
    input:
        settings=job_settings("mtbridge.data:write_language_corpora", world=corpus_world, seed=config["seed"]),
    output:
        monolingual=paths.monolingual_corpus("{language}"),
        evaluation=paths.evaluation_set("{language}"),
    log:
        paths.log("language_corpora", "{language}"),
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/language_corpora.py"


rule task_split:
    input:
        settings=job_settings("mtbridge.data:write_task_split", world=split_world, seed=config["seed"]),
    output:
        paths.task_split("{task}", "{split}", "{language}"),
    log:
        paths.log("task_split", "{task}", "{split}", "{language}"),
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/task_split.py"


rule parallel_corpus:
    input:
        settings=job_settings("mtbridge.data:write_parallel_corpus", world=pair_world, seed=config["seed"]),
    output:
        paths.parallel_corpus("{source}", "{target}"),
    log:
        paths.log("parallel_corpus", "{source}-{target}"),
    priority: CRITICAL_PATH  # feeds continued pretraining
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/parallel_corpus.py"


rule tokenizer:
    input:
        corpora=GRID.monolingual_corpora(),
        settings=job_settings(
            "mtbridge.tokenizer:build_tokenizer",
            languages=LANGUAGES,
            vocab_size=config["tokenizer"]["vocab_size"],
            per_language=config["tokenizer"]["sentences_per_language"],
        ),
    output:
        directory(paths.tokenizer()),
    log:
        paths.log("tokenizer", "tokenizer"),
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/tokenizer.py"


rule world_dictionary:
    # codeswitch-cp: the world's lexicon of one pair as a MUSE-style dictionary
    input:
        settings=job_settings(
            "mtbridge.data:write_world_dictionary",
            world=dictionary_world,
            seed=config["seed"],
            source=wildcard("source"),
            target=wildcard("target"),
        ),
    output:
        paths.dictionary("{source}", "{target}"),
    log:
        paths.log("world_dictionary", "{source}-{target}"),
    priority: CRITICAL_PATH  # feeds continued pretraining
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/world_dictionary.py"
