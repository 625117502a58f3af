# The embedded synthetic world: corpora and task data per language, parallel corpora per pair,
# and the shared subword tokenizer.


rule language_data:
    output:
        **language_outputs("{language}"),
    params:
        world=language_world,
        seed=config["seed"],
        tasks=TASKS,
        task_paths=task_paths,
    log:
        paths.log("language_data", "{language}"),
    script:
        "../workflow_scripts/language_data.py"


rule training_split:
    output:
        paths.task_split("{task}", "train", TRAIN),
    params:
        world=train_world,
        seed=config["seed"],
    log:
        paths.log("training_split", "{task}"),
    script:
        "../workflow_scripts/training_split.py"


rule parallel_corpus:
    output:
        paths.parallel_corpus("{source}", "{target}"),
    params:
        world=pair_world,
        seed=config["seed"],
    log:
        paths.log("parallel_corpus", "{source}-{target}"),
    script:
        "../workflow_scripts/parallel_corpus.py"


rule tokenizer:
    input:
        monolingual_corpora(),
    output:
        directory(paths.tokenizer()),
    params:
        languages=LANGUAGES,
        vocab_size=config["tokenizer"]["vocab_size"],
        per_language=config["tokenizer"]["sentences_per_language"],
    log:
        paths.log("tokenizer", "tokenizer"),
    script:
        "../workflow_scripts/tokenizer.py"
