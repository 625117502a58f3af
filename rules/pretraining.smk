# Objective checkpoints: pretrained from scratch (source), untrained (random-init), continued from
# source with one shared budget (MT directions and the denoising control), or fetched from a pinned
# hub revision (any objective listed under a family's `hub`).


rule fetch_checkpoint:
    input:
        settings=job_settings(
            "mtbridge.models:fetch_checkpoint",
            ref=hub_ref,
            key=hub_key,
            spec=model_spec,
        ),
    output:
        directory(paths.checkpoint("{model}", "{objective}", None, hub=True)),
    threads: threads_of("fetch")
    resources:
        **resources_of("fetch"),
    log:
        paths.log("fetch_checkpoint", "{model}", "{objective}"),
    script:
        "../workflow_scripts/fetch_checkpoint.py"


rule pretrain_source:
    input:
        tokenizer=paths.tokenizer(),
        corpora=monolingual_corpora(),
        settings=job_settings(
            "mtbridge.pretraining:pretrain_source",
            spec=model_spec,
            languages=LANGUAGES,
            seed=model_seed,
            device=DEVICE,
        ),
    output:
        directory(paths.checkpoint("{model}", "source", "{pseed}")),
    threads: threads_of("pretraining")
    priority: 10  # on the critical path: start before the many short fine-tuning jobs
    resources:
        **resources_of("pretraining"),
    log:
        paths.log("pretrain_source", "{model}", paths.pretrained("{pseed}")),
    script:
        "../workflow_scripts/pretrain_source.py"


rule random_init:
    input:
        base=random_init_base,
        settings=job_settings("mtbridge.pretraining:random_init", spec=model_spec, seed=model_seed),
    output:
        directory(paths.checkpoint("{model}", "random-init", "{pseed}")),
    threads: threads_of("fetch")
    resources:
        **resources_of("fetch"),
    log:
        paths.log("random_init", "{model}", paths.pretrained("{pseed}")),
    script:
        "../workflow_scripts/random_init.py"


rule continue_pretraining:
    input:
        source=source_checkpoint,
        corpora=continued_corpora,
        settings=job_settings(
            "mtbridge.pretraining:continue_pretraining",
            spec=model_spec,
            languages=CONTINUED_LANGUAGES,
            train_language=TRAIN,
            settings=config["continued_pretraining"],
            seed=model_seed,
            device=DEVICE,
        ),
    output:
        directory(paths.checkpoint("{model}", "{continued}", "{pseed}")),
    threads: threads_of("pretraining")
    priority: 10  # on the critical path: start before the many short fine-tuning jobs
    resources:
        **resources_of("pretraining"),
    log:
        paths.log("continue_pretraining", "{model}", "{continued}", paths.pretrained("{pseed}")),
    script:
        "../workflow_scripts/continue_pretraining.py"


rule budget_table:
    input:
        checkpoints=budget_checkpoint_list(),
        settings=job_settings(
            "mtbridge.budget:write_budget_table",
            checkpoints=budget_checkpoints(),
            seq2seq={model: config["models"][model]["architecture"] in SEQ2SEQ_ARCHITECTURES
                     for model in STUDY["models"]},
            budget=config["continued_pretraining"]["tokens"],
            study=study_identity(),
        ),
    output:
        csv=report(paths.table("budget", "csv"), category="Budget", caption="../report/budget.rst"),
        markdown=paths.table("budget", "md"),
    log:
        paths.log("budget_table", "budget"),
    script:
        "../workflow_scripts/budget_table.py"
