# Objective checkpoints: pretrained from scratch (source), untrained (random-init),
# and continued from source with one shared budget (MT directions and the denoising control).


rule pretrain_source:
    input:
        tokenizer=paths.tokenizer(),
        corpora=monolingual_corpora(),
        settings=job_settings(
            "mtbridge.pretraining:pretrain_source",
            spec=model_spec,
            languages=LANGUAGES,
            seed=config["seed"],
        ),
    output:
        directory(paths.checkpoint("{model}", "source")),
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
        settings=job_settings("mtbridge.pretraining:random_init", spec=model_spec, seed=config["seed"]),
    output:
        directory(paths.checkpoint("{model}", "random-init")),
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
        settings=job_settings(
            "mtbridge.pretraining:continue_pretraining",
            spec=model_spec,
            languages=LANGUAGES,
            train_language=TRAIN,
            settings=config["continued_pretraining"],
            seed=config["seed"],
        ),
    output:
        directory(paths.checkpoint("{model}", "{continued}")),
    threads: config["threads"]
    priority: 10  # on the critical path: start before the many short fine-tuning jobs
    resources:
        mem_mb=2000,
    log:
        paths.log("continue_pretraining", "{model}", "{continued}"),
    script:
        "../workflow_scripts/continue_pretraining.py"
