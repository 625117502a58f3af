# mtbridge: does machine-translation continued pretraining help zero-shot cross-lingual transfer?
# The whole study as one DAG: data -> tokenizer -> pretraining -> continued pretraining
# -> fine-tuning (per model × objective × task × seed) -> prediction (× language) -> tables;
# and the analysis: activation dumps -> CKA across languages and models, weight spectra -> tables, figures.

configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/pretraining.smk"
include: "rules/finetuning.smk"
include: "rules/tables.smk"
include: "rules/analysis.smk"
include: "rules/phases.smk"


rule all:
    input:
        all_tables(),
        all_analysis(),
    default_target: True
