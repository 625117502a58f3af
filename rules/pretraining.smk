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
    log:
        paths.log("fetch_checkpoint", "{model}", "{objective}"),
    conda:
        CONDA_ENV
    threads: threads_of("fetch")
    resources:
        **resources_of("fetch"),
    script:
        "../workflow_scripts/fetch_checkpoint.py"


rule pretrain_source:
    input:
        tokenizer=paths.tokenizer(),
        corpora=GRID.monolingual_corpora(),
        settings=job_settings(
            "mtbridge.pretraining:pretrain_source",
            spec=model_spec,
            languages=LANGUAGES,
            seed=model_seed,
            device=DEVICE,
        ),
    output:
        directory(paths.checkpoint("{model}", "source", "{pseed}")),
    log:
        paths.log("pretrain_source", "{model}", paths.pretrained("{pseed}")),
    priority: CRITICAL_PATH
    conda:
        CONDA_ENV
    threads: threads_of("pretraining")
    resources:
        **resources_of("pretraining"),
    script:
        "../workflow_scripts/pretrain_source.py"


rule random_init:
    input:
        base=random_init_base,
        settings=job_settings("mtbridge.pretraining:random_init", spec=model_spec, seed=model_seed),
    output:
        directory(paths.checkpoint("{model}", "random-init", "{pseed}")),
    log:
        paths.log("random_init", "{model}", paths.pretrained("{pseed}")),
    conda:
        CONDA_ENV
    threads: threads_of("fetch")
    resources:
        **resources_of("fetch"),
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
            settings=CONTINUED_SETTINGS,
            seed=model_seed,
            device=DEVICE,
        ),
    output:
        directory(paths.checkpoint("{model}", "{continued}", "{pseed}")),
    log:
        paths.log("continue_pretraining", "{model}", "{continued}", paths.pretrained("{pseed}")),
    priority: CRITICAL_PATH
    conda:
        CONDA_ENV
    threads: threads_of("pretraining")
    resources:
        **resources_of("pretraining"),
    script:
        "../workflow_scripts/continue_pretraining.py"


rule spectral_swap:
    # issue #15, part 3: a continued checkpoint with the source's singular values (source-spectrum), or
    # the source with the continued singular values (source-vectors); fine-tuned and analysed like any
    input:
        unpack(swap_checkpoints),
        settings=job_settings("mtbridge.spectral_swap:write_spectral_swap", objective=swap_objective),
    output:
        directory(paths.checkpoint("{model}", "{continued}+{swap}", "{pseed}")),
    log:
        paths.log("spectral_swap", "{model}", "{continued}+{swap}", paths.pretrained("{pseed}")),
    conda:
        CONDA_ENV
    threads: threads_of("analysis")
    resources:
        **resources_of("analysis"),
    script:
        "../workflow_scripts/spectral_swap.py"


rule budget_table:
    input:
        checkpoints=[folder for folders in GRID.budget_checkpoints().values() for folder in folders],
        settings=job_settings(
            "mtbridge.budget:write_budget_table",
            checkpoints=GRID.budget_checkpoints(),
            seq2seq={model: model in GRID.seq2seq_models for model in GRID.models},
            budget=config["continued_pretraining"]["tokens"],
            study=STUDY_IDENTITY,
        ),
    output:
        csv=report(paths.table("budget", "csv"), category=CATEGORY["budget"], caption="../report/budget.rst"),
        markdown=paths.table("budget", "md"),
    log:
        paths.log("budget_table", "budget"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/budget_table.py"
