# The manipulation check: do the MT-continued checkpoints translate? Every checkpoint of a seq2seq
# family translates a held-out en–X test set both ways (per model × objective × X), scored with chrF++
# and BLEU; copying the source is the floor (per X); then one table and a figure per seq2seq family.
# Held-out data: the synthetic world's `parallel_test` pairs, or FLORES devtest at paper scale
# (`evaluation.source: flores`, two evaluation sets matched by id). With neither (XGLUE with
# `evaluation.source: xnli`) these rules are not in the DAG (mtbridge.grid: StudyGrid.translates).
if GRID.translates and SYNTHETIC:

    rule parallel_test_set:
        input:
            settings=job_settings(
                "mtbridge.data:write_parallel_test_set", world=test_world, seed=config["seed"], source=TRAIN
            ),
        output:
            paths.parallel_test_set(TRAIN, "{language}"),
        log:
            paths.log("parallel_test_set", f"{TRAIN}-{{language}}"),
        conda:
            CONDA_ENV
        threads: threads_of("data")
        resources:
            **resources_of("data"),
        script:
            "../workflow_scripts/parallel_test_set.py"

elif GRID.translates:

    rule flores_test_set:
        input:
            source=paths.evaluation_set(TRAIN),
            target=paths.evaluation_set("{language}"),
            settings=job_settings("mtbridge.translation:pair_evaluation_sets"),
        output:
            paths.parallel_test_set(TRAIN, "{language}"),
        log:
            paths.log("flores_test_set", f"{TRAIN}-{{language}}"),
        conda:
            CONDA_ENV
        threads: threads_of("data")
        resources:
            **resources_of("data"),
        script:
            "../workflow_scripts/flores_test_set.py"


if GRID.translates:

    rule translate:
        input:
            checkpoint=objective_checkpoint,
            test=paths.parallel_test_set(TRAIN, "{language}"),
            settings=job_settings(
                "mtbridge.translation:translate_test_set",
                spec=model_spec,
                languages=translation_languages,
                meta=translation_meta,
                device=DEVICE,
            ),
        output:
            hypotheses=paths.translations("{model}", "{objective}", "{pseed}", TRAIN, "{language}"),
            scores=paths.translation_scores("{model}", "{objective}", "{pseed}", TRAIN, "{language}"),
        log:
            paths.log(
                "translate", "{model}", "{objective}", paths.pretrained("{pseed}"), f"{TRAIN}-{{language}}"
            ),
        conda:
            CONDA_ENV
        threads: threads_of("prediction")
        resources:
            **resources_of("prediction"),
        script:
            "../workflow_scripts/translate.py"

    rule copy_scores:
        input:
            test=paths.parallel_test_set(TRAIN, "{language}"),
            settings=job_settings("mtbridge.translation:score_copy"),
        output:
            paths.copy_scores(TRAIN, "{language}"),
        log:
            paths.log("copy_scores", f"{TRAIN}-{{language}}"),
        conda:
            CONDA_ENV
        threads: threads_of("light")
        resources:
            **resources_of("light"),
        script:
            "../workflow_scripts/copy_scores.py"

    rule translation_table:
        input:
            scores=GRID.translation_scores(),
            copies=GRID.copy_scores(),
            settings=job_settings(
                "mtbridge.translation:write_translation_tables",
                rows=GRID.translation_rows(),
                languages=GRID.translation_languages,
                train_language=TRAIN,
                mt_pairs=GRID.translation_mt_pairs(),
                study=STUDY_IDENTITY,
            ),
        output:
            csv=report(
                paths.translation_table("csv"),
                category=CATEGORY["translation"],
                caption="../report/translation.rst",
            ),
            markdown=paths.translation_table("md"),
        log:
            paths.log("translation_table", "translation"),
        conda:
            CONDA_ENV
        threads: threads_of("light")
        resources:
            **resources_of("light"),
        script:
            "../workflow_scripts/translation_table.py"

    rule translation_figure:
        input:
            table=paths.translation_table("csv"),
            settings=job_settings("mtbridge.figures:translation_bars"),
        output:
            report(
                paths.translation_figure("{model}"),
                category=CATEGORY["translation"],
                caption="../report/translation_figure.rst",
            ),
        log:
            paths.log("translation_figure", "{model}"),
        conda:
            CONDA_ENV
        threads: threads_of("light")
        resources:
            **resources_of("light"),
        script:
            "../workflow_scripts/translation_figure.py"
