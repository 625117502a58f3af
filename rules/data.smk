# The embedded synthetic world: corpora and task data per language, parallel corpora per pair,
# and the shared subword tokenizer.


rule language_data:
    input:
        settings=job_settings(
            "mtbridge.data:write_language_data",
            world=language_world,
            seed=config["seed"],
            tasks=TASKS,
            task_paths=task_paths,
        ),
    output:
        **language_outputs("{language}"),
    log:
        paths.log("language_data", "{language}"),
    script:
        "../workflow_scripts/language_data.py"


rule training_split:
    input:
        settings=job_settings("mtbridge.data:write_task_split", world=train_world, seed=config["seed"]),
    output:
        paths.task_split("{task}", "train", TRAIN),
    log:
        paths.log("training_split", "{task}"),
    script:
        "../workflow_scripts/training_split.py"


rule parallel_corpus:
    input:
        settings=job_settings("mtbridge.data:write_parallel_corpus", world=pair_world, seed=config["seed"]),
    output:
        paths.parallel_corpus("{source}", "{target}"),
    log:
        paths.log("parallel_corpus", "{source}-{target}"),
    script:
        "../workflow_scripts/parallel_corpus.py"


rule tokenizer:
    input:
        corpora=monolingual_corpora(),
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
    script:
        "../workflow_scripts/tokenizer.py"
