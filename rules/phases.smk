# One target per phase of the study: what each DVC stage (dvc.yaml) asks Snakemake to build.
# Snakemake stays the scheduler of the fine-grained jobs; DVC stores and shares each phase's folders.


rule phase_data:
    input:
        data_outputs(),
        all_test_sets(),


rule phase_pretraining:
    input:
        all_checkpoints(continued=False),
    params:
        folders=[paths.checkpoint_root("source"), paths.checkpoint_root("source", hub=True)],
    shell:
        # the folders DVC tracks must exist whichever kinds of checkpoint the study has
        "mkdir -p {params.folders:q}"


rule phase_continued:
    input:
        all_checkpoints(continued=True),
    params:
        folder=paths.checkpoint_root("mt-m2m"),
    shell:
        # the folder DVC tracks must exist even in a study without continued objectives
        "mkdir -p {params.folder:q}"


rule phase_finetuning:
    input:
        all_metrics(),
        all_baseline_metrics(),
        all_translation_scores() if all_translation() else [],
        all_copy_scores() if all_translation() else [],


rule phase_analysis:
    input:
        all_cka_languages(),
        all_cka_models(),
        all_spectra(),


rule phase_tables:
    input:
        all_tables(),
        budget_tables(),
        all_translation(),
        all_analysis(),
