# The paper's look inside the models: pooled activations of the parallel evaluation set
# (per model × objective × language), CKA across languages (per model × objective) and between
# a source model and each continued variant (per model × variant × language), and the singular
# values of every weight matrix (per model × objective); then tables and figures.


rule dump_activations:
    input:
        checkpoint=objective_checkpoint,
        evaluation=paths.evaluation_set("{language}"),
        settings=job_settings(
            "mtbridge.representations:dump_activations",
            spec=model_spec,
            languages=job_language,
            settings=dump_settings,
            device=DEVICE,
        ),
    output:
        paths.activations("{model}", "{objective}", "{pseed}", "{language}"),
    log:
        paths.log("dump_activations", "{model}", "{objective}", paths.pretrained("{pseed}"), "{language}"),
    conda:
        CONDA_ENV
    threads: threads_of("analysis")
    resources:
        **resources_of("analysis"),
    script:
        "../workflow_scripts/dump_activations.py"


rule cka_languages:
    input:
        dumps=language_dumps,
        settings=job_settings(
            "mtbridge.analysis:cka_across_languages",
            languages=GRID.languages_train_first(),
            estimator=ANALYSIS["estimator"],
        ),
    output:
        paths.cka_languages("{model}", "{objective}", "{pseed}"),
    log:
        paths.log("cka_languages", "{model}", "{objective}", paths.pretrained("{pseed}")),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/cka_languages.py"


rule cka_models:
    input:
        source=paths.activations("{model}", "source", "{pseed}", "{language}"),
        variant=paths.activations("{model}", "{variant}", "{pseed}", "{language}"),
        settings=job_settings("mtbridge.analysis:cka_between_models", estimator=ANALYSIS["estimator"]),
    output:
        paths.cka_models("{model}", "{variant}", "{pseed}", "{language}"),
    log:
        paths.log("cka_models", "{model}", "{variant}", paths.pretrained("{pseed}"), "{language}"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/cka_models.py"


rule spectra:
    input:
        checkpoint=objective_checkpoint,
        settings=job_settings("mtbridge.analysis:write_spectra", device=DEVICE),
    output:
        paths.spectra("{model}", "{objective}", "{pseed}"),
    log:
        paths.log("spectra", "{model}", "{objective}", paths.pretrained("{pseed}")),
    conda:
        CONDA_ENV
    threads: threads_of("analysis")
    resources:
        **resources_of("analysis"),
    script:
        "../workflow_scripts/spectra.py"


rule cka_language_table:
    input:
        cka=GRID.cka_languages(),
        settings=job_settings(
            "mtbridge.analysis:write_cka_language_table", train_language=TRAIN, study=STUDY_IDENTITY
        ),
    output:
        csv=report(
            paths.table("cka_languages", "csv"),
            category=CATEGORY["cka"],
            subcategory="Across languages",
            caption="../report/cka_languages.rst",
        ),
        markdown=paths.table("cka_languages", "md"),
    log:
        paths.log("cka_language_table", "cka_languages"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/cka_language_table.py"


rule cka_model_table:
    input:
        cka=GRID.cka_models(),
        settings=job_settings("mtbridge.analysis:write_cka_model_table", study=STUDY_IDENTITY),
    output:
        csv=report(
            paths.table("cka_models", "csv"),
            category=CATEGORY["cka"],
            subcategory="Between models",
            caption="../report/cka_models.rst",
        ),
        markdown=paths.table("cka_models", "md"),
    log:
        paths.log("cka_model_table", "cka_models"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/cka_model_table.py"


rule spectra_table:
    input:
        spectra=GRID.spectra(),
        settings=job_settings(
            "mtbridge.analysis:write_spectra_table", top_k=ANALYSIS["top_k"], study=STUDY_IDENTITY
        ),
    output:
        csv=report(
            paths.table("spectra_summary", "csv"),
            category=CATEGORY["spectra"],
            caption="../report/spectra_summary.rst",
        ),
        markdown=paths.table("spectra_summary", "md"),
    log:
        paths.log("spectra_table", "spectra_summary"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/spectra_table.py"


rule cka_language_figure:
    input:
        cka=objective_cka_languages,
        settings=job_settings("mtbridge.figures:cka_language_heatmap", train_language=TRAIN),
    output:
        report(
            paths.cka_language_figure("{model}", "{objective}"),
            category=CATEGORY["cka"],
            subcategory="Across languages",
            caption="../report/cka_language_figure.rst",
        ),
    log:
        paths.log("cka_language_figure", "{model}", "{objective}"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/cka_language_figure.py"


rule cka_model_figure:
    input:
        cka=family_cka_models,
        settings=job_settings("mtbridge.figures:cka_model_curves"),
    output:
        report(
            paths.cka_model_figure("{model}"),
            category=CATEGORY["cka"],
            subcategory="Between models",
            caption="../report/cka_model_figure.rst",
        ),
    log:
        paths.log("cka_model_figure", "{model}"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/cka_model_figure.py"


rule spectra_figure:
    input:
        spectra=family_spectra,
        settings=job_settings("mtbridge.figures:spectra_curves"),
    output:
        report(
            paths.spectra_figure("{model}"),
            category=CATEGORY["spectra"],
            caption="../report/spectra_figure.rst",
        ),
    log:
        paths.log("spectra_figure", "{model}"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/spectra_figure.py"


# Issue #15, part 4: alignment measured beside CKA, from the same dumps (mtbridge.alignment); part 3's
# spectra ratios: each variant's σ_max and stable rank over the source's (mtbridge.spectra).
rule alignment:
    input:
        dumps=language_dumps,
        settings=job_settings("mtbridge.alignment:alignment_measures", languages=GRID.languages_train_first()),
    output:
        paths.alignment("{model}", "{objective}", "{pseed}"),
    log:
        paths.log("alignment", "{model}", "{objective}", paths.pretrained("{pseed}")),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/alignment.py"


rule alignment_table:
    input:
        alignment=GRID.alignment(),
        settings=job_settings(
            "mtbridge.alignment:write_alignment_table", train_language=TRAIN, study=STUDY_IDENTITY
        ),
    output:
        csv=report(
            paths.table("alignment", "csv"),
            category=CATEGORY["alignment"],
            caption="../report/alignment.rst",
        ),
        markdown=paths.table("alignment", "md"),
    log:
        paths.log("alignment_table", "alignment"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/alignment_table.py"


rule alignment_figure:
    input:
        alignment=family_alignment,
        settings=job_settings("mtbridge.alignment_figures:alignment_curves", train_language=TRAIN),
    output:
        report(
            paths.alignment_figure("{model}"),
            category=CATEGORY["alignment"],
            caption="../report/alignment_figure.rst",
        ),
    log:
        paths.log("alignment_figure", "{model}"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/alignment_figure.py"


rule spectra_ratio_table:
    input:
        spectra=GRID.spectra_ratio_inputs(),
        settings=job_settings("mtbridge.spectra:write_spectra_ratio_table", study=STUDY_IDENTITY),
    output:
        csv=report(
            paths.table("spectra_ratio", "csv"),
            category=CATEGORY["spectra"],
            caption="../report/spectra_ratio.rst",
        ),
        markdown=paths.table("spectra_ratio", "md"),
    log:
        paths.log("spectra_ratio_table", "spectra_ratio"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    script:
        "../workflow_scripts/spectra_ratio_table.py"
