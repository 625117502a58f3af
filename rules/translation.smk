# The manipulation check: do the MT-continued checkpoints translate? Every checkpoint of a seq2seq
# family translates a held-out en–X test set both ways (per model × objective × X), scored with chrF++
# and BLEU; copying the source is the floor (per X); then one table and a figure per seq2seq family.
# Held-out data: the synthetic world's `parallel_test` pairs, or FLORES devtest at paper scale
# (`evaluation.source: flores`, two evaluation sets matched by id). With neither (XGLUE with
# `evaluation.source: xnli`) these rules are not in the DAG and all_translation() is empty.
from mtbridge.config import MT_OBJECTIVES, SEQ2SEQ_ARCHITECTURES

TRANSLATES = SYNTHETIC or config["evaluation"]["source"] == "flores"
TRANSLATION_LANGUAGES = [language for language in LANGUAGES if language != TRAIN]  # the X of en↔X
SEQ2SEQ_MODELS = [model for model in STUDY["models"]
                  if config["models"][model]["architecture"] in SEQ2SEQ_ARCHITECTURES]


def test_world(wildcards):
    return world_slice(config, [TRAIN, wildcards.language], ("parallel", "parallel_test"))


def translation_languages(wildcards):
    return [TRAIN, wildcards.language]


def translation_meta(wildcards):
    return {"model": wildcards.model, "objective": wildcards.objective, "pretraining_seed": int(wildcards.pseed)}


def all_translation_scores():
    return [paths.translation_scores(model, objective, pseed, TRAIN, language) for model in SEQ2SEQ_MODELS
            for objective in config["models"][model]["objectives"] for pseed in PSEEDS
            for language in TRANSLATION_LANGUAGES]


def all_test_sets():
    return [paths.parallel_test_set(TRAIN, language) for language in TRANSLATION_LANGUAGES] if TRANSLATES else []


def all_copy_scores():
    return [paths.copy_scores(TRAIN, language) for language in TRANSLATION_LANGUAGES]


def translation_rows():
    return {model: config["models"][model]["objectives"] for model in SEQ2SEQ_MODELS}


def translation_mt_pairs():
    """The parallel pairs each MT objective of the table trained on; None for a hub checkpoint."""
    return {model: {objective: None if is_hub(model, objective) else parallel_pairs(config)
                    for objective in config["models"][model]["objectives"] if objective in MT_OBJECTIVES}
            for model in SEQ2SEQ_MODELS}


def all_translation():
    """The translation table and one figure per seq2seq family (none without held-out data)."""
    if not (TRANSLATES and SEQ2SEQ_MODELS and TRANSLATION_LANGUAGES):
        return []
    return [paths.translation_table("csv"), paths.translation_table("md"),
            *(paths.translation_figure(model) for model in SEQ2SEQ_MODELS)]


if TRANSLATES and SYNTHETIC:

    rule parallel_test_set:
        input:
            settings=job_settings(
                "mtbridge.data:write_parallel_test_set", world=test_world, seed=config["seed"], source=TRAIN
            ),
        output:
            paths.parallel_test_set(TRAIN, "{language}"),
        log:
            paths.log("parallel_test_set", f"{TRAIN}-{{language}}"),
        script:
            "../workflow_scripts/parallel_test_set.py"

elif TRANSLATES:

    rule flores_test_set:
        input:
            source=paths.evaluation_set(TRAIN),
            target=paths.evaluation_set("{language}"),
            settings=job_settings("mtbridge.translation:pair_evaluation_sets"),
        output:
            paths.parallel_test_set(TRAIN, "{language}"),
        log:
            paths.log("flores_test_set", f"{TRAIN}-{{language}}"),
        script:
            "../workflow_scripts/flores_test_set.py"


if TRANSLATES:

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
        threads: threads_of("prediction")
        resources:
            **resources_of("prediction"),
        log:
            paths.log("translate", "{model}", "{objective}", paths.pretrained("{pseed}"), f"{TRAIN}-{{language}}"),
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
        script:
            "../workflow_scripts/copy_scores.py"

    rule translation_table:
        input:
            scores=all_translation_scores(),
            copies=all_copy_scores(),
            settings=job_settings(
                "mtbridge.translation:write_translation_tables",
                rows=translation_rows(),
                languages=TRANSLATION_LANGUAGES,
                train_language=TRAIN,
                mt_pairs=translation_mt_pairs(),
                study=study_identity(),
            ),
        output:
            csv=report(paths.translation_table("csv"), category="Translation",
                       caption="../report/translation.rst"),
            markdown=paths.translation_table("md"),
        log:
            paths.log("translation_table", "translation"),
        script:
            "../workflow_scripts/translation_table.py"

    rule translation_figure:
        input:
            table=paths.translation_table("csv"),
            settings=job_settings("mtbridge.figures:translation_bars"),
        output:
            report(paths.translation_figure("{model}"), category="Translation",
                   caption="../report/translation_figure.rst"),
        log:
            paths.log("translation_figure", "{model}"),
        script:
            "../workflow_scripts/translation_figure.py"
