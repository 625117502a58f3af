# mtbridge: does machine-translation continued pretraining help zero-shot cross-lingual transfer?
# The whole study as one DAG: data -> tokenizer -> pretraining -> continued pretraining
# -> fine-tuning (per model × objective × task × seed) -> prediction (× language) -> tables.

configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/pretraining.smk"
include: "rules/finetuning.smk"
include: "rules/tables.smk"


rule all:
    input:
        all_tables(),
    default_target: True
