# mtbridge: does machine-translation continued pretraining help zero-shot cross-lingual transfer?
# The whole study as one DAG: data -> tokenizer -> pretraining -> continued pretraining
# -> fine-tuning (per model × objective × task × seed) -> prediction (× language) -> tables;
# and the analysis: activation dumps -> CKA across languages and models, weight spectra -> tables, figures.

# The embedded default study, unless a study is given with --configfile (which then stands alone:
# Snakemake would otherwise merge it into this one, e.g. keep the synthetic `world` in the paper study).
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "rules/common.smk"


report: "report/workflow.rst"  # the report's front page: what the study asks and how to read it


if SYNTHETIC:

    include: "rules/data.smk"

else:

    include: "rules/xglue.smk"


include: "rules/pretraining.smk"
include: "rules/codeswitch.smk"
include: "rules/finetuning.smk"
include: "rules/baselines.smk"
include: "rules/tables.smk"
include: "rules/translation.smk"
include: "rules/analysis.smk"
include: "rules/phases.smk"


attach_job_scripts()  # every rule is defined: job settings fingerprint the script each rule runs


rule all:
    default_target: True
    input:
        GRID.phase_targets("tables"),
