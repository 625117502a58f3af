# Fine-tune on the training language (per model × objective × task × seed), then predict
# every test language zero-shot (per model × objective × task × language × seed).


rule finetune:
    input:
        tokenizer=paths.tokenizer(),
        checkpoint=objective_checkpoint,
        train=paths.task_split("{task}", "train", TRAIN),
        dev=paths.task_split("{task}", "dev", TRAIN),
        settings=job_settings(
            "mtbridge.finetuning:finetune",
            spec=model_spec,
            settings=finetune_settings,
            languages=LANGUAGES,
            topics=config["world"]["topics"],
        ),
    output:
        directory(paths.finetuned("{model}", "{objective}", "{task}", "{seed}")),
    threads: config["threads"]
    resources:
        mem_mb=1500,
    log:
        paths.log("finetune", "{model}", "{objective}", "{task}", "seed{seed}"),
    script:
        "../workflow_scripts/finetune.py"


rule predict:
    input:
        tokenizer=paths.tokenizer(),
        finetuned=paths.finetuned("{model}", "{objective}", "{task}", "{seed}"),
        test=paths.task_split("{task}", "test", "{language}"),
        settings=job_settings(
            "mtbridge.finetuning:predict",
            spec=model_spec,
            languages=LANGUAGES,
            topics=config["world"]["topics"],
            meta=task_meta,
        ),
    output:
        predictions=paths.predictions("{model}", "{objective}", "{task}", "{language}", "{seed}"),
        metrics=paths.metrics("{model}", "{objective}", "{task}", "{language}", "{seed}"),
    threads: config["threads"]
    resources:
        mem_mb=1000,
    log:
        paths.log("predict", "{model}", "{objective}", "{task}", "{language}", "seed{seed}"),
    script:
        "../workflow_scripts/predict.py"
