# Fine-tune on the training language (per model × objective × task × seed), then predict
# every test language of the task zero-shot (per model × objective × task × language × seed).


rule finetune:
    input:
        checkpoint=objective_checkpoint,
        train=paths.task_split("{task}", "train", TRAIN),
        dev=paths.task_split("{task}", "dev", TRAIN),
        settings=job_settings(
            "mtbridge.finetuning:finetune",
            task=task_of,
            spec=model_spec,
            settings=finetune_settings,
            languages=[TRAIN],
            device=DEVICE,
        ),
    output:
        directory(paths.finetuned("{model}", "{objective}", "{pseed}", "{task}", "{seed}")),
    log:
        paths.log("finetune", "{model}", "{objective}", paths.pretrained("{pseed}"), "{task}", "seed{seed}"),
    conda:
        CONDA_ENV
    threads: threads_of("finetuning")
    resources:
        **resources_of("finetuning"),
    script:
        "../workflow_scripts/finetune.py"


rule predict:
    input:
        finetuned=paths.finetuned("{model}", "{objective}", "{pseed}", "{task}", "{seed}"),
        test=paths.task_split("{task}", "test", "{language}"),
        settings=job_settings(
            "mtbridge.finetuning:predict",
            task=task_of,
            spec=model_spec,
            languages=job_language,
            meta=task_meta,
            batch_size=prediction_batch_size,
            device=DEVICE,
        ),
    output:
        predictions=paths.predictions("{model}", "{objective}", "{pseed}", "{task}", "{language}", "{seed}"),
        metrics=paths.metrics("{model}", "{objective}", "{pseed}", "{task}", "{language}", "{seed}"),
    log:
        paths.log(
            "predict",
            "{model}",
            "{objective}",
            paths.pretrained("{pseed}"),
            "{task}",
            "{language}",
            "seed{seed}",
        ),
    conda:
        CONDA_ENV
    threads: threads_of("prediction")
    resources:
        **resources_of("prediction"),
    script:
        "../workflow_scripts/predict.py"
