# The paper's look inside the models: pooled activations of the parallel evaluation set
# (per model × objective × language), CKA across languages (per model × objective) and between
# a source model and each continued variant (per model × variant × language), and the singular
# values of every weight matrix (per model × objective); then tables and figures.


rule dump_activations:
    input:
        tokenizer=paths.tokenizer(),
        checkpoint=paths.checkpoint("{model}", "{objective}"),
        evaluation=paths.evaluation_set("{language}"),
    output:
        paths.activations("{model}", "{objective}", "{language}"),
    params:
        spec=model_spec,
        languages=LANGUAGES,
        settings=dump_settings,
    threads: config["threads"]
    resources:
        mem_mb=1000,
    log:
        paths.log("dump_activations", "{model}", "{objective}", "{language}"),
    script:
        "../workflow_scripts/dump_activations.py"


rule cka_languages:
    input:
        language_dumps,
    output:
        paths.cka_languages("{model}", "{objective}"),
    params:
        languages=languages_train_first(),
        estimator=ANALYSIS["estimator"],
    log:
        paths.log("cka_languages", "{model}", "{objective}"),
    script:
        "../workflow_scripts/cka_languages.py"


rule cka_models:
    input:
        source=paths.activations("{model}", "source", "{language}"),
        variant=paths.activations("{model}", "{variant}", "{language}"),
    output:
        paths.cka_models("{model}", "{variant}", "{language}"),
    params:
        estimator=ANALYSIS["estimator"],
    log:
        paths.log("cka_models", "{model}", "{variant}", "{language}"),
    script:
        "../workflow_scripts/cka_models.py"


rule spectra:
    input:
        paths.checkpoint("{model}", "{objective}"),
    output:
        paths.spectra("{model}", "{objective}"),
    threads: config["threads"]
    log:
        paths.log("spectra", "{model}", "{objective}"),
    script:
        "../workflow_scripts/spectra.py"


rule cka_language_table:
    input:
        all_cka_languages(),
    output:
        csv=report(paths.table("cka_languages", "csv"), category="CKA", subcategory="Across languages",
                   caption="../report/cka_languages.rst"),
        markdown=paths.table("cka_languages", "md"),
    params:
        train_language=TRAIN,
    log:
        paths.log("cka_language_table", "cka_languages"),
    script:
        "../workflow_scripts/cka_language_table.py"


rule cka_model_table:
    input:
        all_cka_models(),
    output:
        csv=report(paths.table("cka_models", "csv"), category="CKA", subcategory="Between models",
                   caption="../report/cka_models.rst"),
        markdown=paths.table("cka_models", "md"),
    log:
        paths.log("cka_model_table", "cka_models"),
    script:
        "../workflow_scripts/cka_model_table.py"


rule spectra_table:
    input:
        all_spectra(),
    output:
        csv=report(paths.table("spectra_summary", "csv"), category="Spectra",
                   caption="../report/spectra_summary.rst"),
        markdown=paths.table("spectra_summary", "md"),
    params:
        top_k=ANALYSIS["top_k"],
    log:
        paths.log("spectra_table", "spectra_summary"),
    script:
        "../workflow_scripts/spectra_table.py"


rule cka_language_figure:
    input:
        paths.cka_languages("{model}", "{objective}"),
    output:
        report(paths.cka_language_figure("{model}", "{objective}"), category="CKA",
               subcategory="Across languages", caption="../report/cka_language_figure.rst"),
    params:
        train_language=TRAIN,
    log:
        paths.log("cka_language_figure", "{model}", "{objective}"),
    script:
        "../workflow_scripts/cka_language_figure.py"


rule cka_model_figure:
    input:
        family_cka_models,
    output:
        report(paths.cka_model_figure("{model}"), category="CKA", subcategory="Between models",
               caption="../report/cka_model_figure.rst"),
    log:
        paths.log("cka_model_figure", "{model}"),
    script:
        "../workflow_scripts/cka_model_figure.py"


rule spectra_figure:
    input:
        family_spectra,
    output:
        report(paths.spectra_figure("{model}"), category="Spectra", caption="../report/spectra_figure.rst"),
    log:
        paths.log("spectra_figure", "{model}"),
    script:
        "../workflow_scripts/spectra_figure.py"
