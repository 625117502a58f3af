# One target per phase of the study: what each DVC stage (dvc.yaml) asks Snakemake to build
# (mtbridge.grid: StudyGrid.phase_targets). Snakemake stays the scheduler of the fine-grained jobs;
# DVC stores and shares each phase's folders.


rule phase_data:
    input:
        GRID.phase_targets("data"),


rule phase_pretraining:
    input:
        GRID.phase_targets("pretraining"),
    log:
        paths.log("phase", "pretraining"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    params:
        folders=[paths.checkpoint_root("source"), paths.checkpoint_root("source", hub=True)],
    shell:
        # the folders DVC tracks must exist whichever kinds of checkpoint the study has
        "mkdir -p {params.folders:q} 2> {log:q}"


rule phase_continued:
    input:
        GRID.phase_targets("continued"),
    log:
        paths.log("phase", "continued"),
    conda:
        CONDA_ENV
    threads: threads_of("light")
    resources:
        **resources_of("light"),
    params:
        folders=[paths.checkpoint_root("mt-m2m")],
    shell:
        # the folder DVC tracks must exist even in a study without continued objectives
        "mkdir -p {params.folders:q} 2> {log:q}"


rule phase_finetuning:
    input:
        GRID.phase_targets("finetuning"),


rule phase_analysis:
    input:
        GRID.phase_targets("analysis"),


rule phase_tables:
    input:
        GRID.phase_targets("tables"),
