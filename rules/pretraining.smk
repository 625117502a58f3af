# Objective checkpoints: pretrained from scratch (source), untrained (random-init),
# and continued from source with one shared budget (MT directions and the denoising control).


rule pretrain_source:
    input:
        tokenizer=paths.tokenizer(),
        corpora=monolingual_corpora(),
    output:
        directory(paths.checkpoint("{model}", "source")),
    params:
        spec=model_spec,
        languages=LANGUAGES,
        seed=config["seed"],
    threads: config["threads"]
    priority: 10  # on the critical path: start before the many short fine-tuning jobs
    resources:
        mem_mb=2000,
    log:
        paths.log("pretrain_source", "{model}"),
    script:
        "../workflow_scripts/pretrain_source.py"


rule random_init:
    input:
        tokenizer=paths.tokenizer(),
    output:
        directory(paths.checkpoint("{model}", "random-init")),
    params:
        spec=model_spec,
        seed=config["seed"],
    threads: config["threads"]
    log:
        paths.log("random_init", "{model}"),
    script:
        "../workflow_scripts/random_init.py"


rule continue_pretraining:
    input:
        tokenizer=paths.tokenizer(),
        source=paths.checkpoint("{model}", "source"),
        corpora=continued_corpora,
    output:
        directory(paths.checkpoint("{model}", "{continued}")),
    params:
        spec=model_spec,
        languages=LANGUAGES,
        train_language=TRAIN,
        settings=config["continued_pretraining"],
        seed=config["seed"],
    threads: config["threads"]
    priority: 10  # on the critical path: start before the many short fine-tuning jobs
    resources:
        mem_mb=2000,
    log:
        paths.log("continue_pretraining", "{model}", "{continued}"),
    script:
        "../workflow_scripts/continue_pretraining.py"
