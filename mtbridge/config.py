"""Reading the study configuration: validation beyond the schema, and the grid it implies.

The JSON schema (``schemas/config.schema.yaml``) checks keys and types; the checks
here are the ones a schema cannot express: names that must refer to definitions
elsewhere in the file, and objectives an architecture cannot train.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"
BUILT_OBJECTIVES = ("source", "random-init")
CONTINUED_OBJECTIVES = ("denoise-cp", "mt-m2m", "mt-o2m", "mt-m2o")  # continue `source`
MT_OBJECTIVES = ("mt-m2m", "mt-o2m", "mt-m2o")  # need a seq2seq architecture
OBJECTIVES = (*BUILT_OBJECTIVES, *CONTINUED_OBJECTIVES)
OBJECTIVE_ORDER = ("source", "denoise-cp", "mt-m2m", "mt-o2m", "mt-m2o", "random-init")  # table rows
SEQ2SEQ_ARCHITECTURES = ("mbart", "nllb")
SYNTHETIC_TASKS = ("nli", "paraphrase", "topic", "pos", "ner")
SIZE_KEYS = ("hidden_size", "layers", "attention_heads", "ffn_size", "pretraining")
# What each kind of job asks a scheduler for unless `resources` says otherwise: sized for the
# embedded study on a laptop; configs/paper.yaml sets GPU-sized values.
RESOURCE_DEFAULTS = {
    "data": {"mem_mb": 2000, "runtime": 30, "gpu": 0},
    "fetch": {"mem_mb": 4000, "runtime": 60, "gpu": 0},
    "pretraining": {"mem_mb": 2000, "runtime": 120, "gpu": 0},
    "finetuning": {"mem_mb": 1500, "runtime": 60, "gpu": 0},
    "prediction": {"mem_mb": 1000, "runtime": 30, "gpu": 0},
    "analysis": {"mem_mb": 1000, "runtime": 30, "gpu": 0},
}


class ConfigError(ValueError):
    """A configuration problem, reported in one line that names the key."""


def load_config(path: str | os.PathLike, overrides: dict | None = None) -> dict:
    """Load, fill defaults, and check a config the same way the Snakefile does."""
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    config.update(overrides or {})
    prepare_config(config)
    return config


def prepare_config(config: dict, schema_path: str | os.PathLike = SCHEMA) -> None:
    """Validate, fill defaults, cross-check, and sort keys, in place (the Snakefile's first step).

    Keys are sorted because Snakemake compares a job's params by their printed form:
    reordering keys in the config file must not rerun jobs whose settings did not change.
    """
    validate_schema(config, schema_path)
    check_config(config)
    order_grid(config)
    config.update(canonical(config))


def validate_schema(config: dict, schema_path: str | os.PathLike = SCHEMA) -> None:
    """Validate with Snakemake's validator (fills defaults); re-raise as one line naming the key."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(schema_path), set_default=True)
    except WorkflowError as error:
        raise ConfigError(schema_message(error)) from None


def schema_message(error: Exception) -> str:
    """The jsonschema error behind Snakemake's WorkflowError, as ``key.path: problem``."""
    cause = error
    while cause is not None and not hasattr(cause, "absolute_path"):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return f"config: {str(error).splitlines()[0]}"
    path = [str(part) for part in cause.absolute_path]
    if cause.validator == "oneOf":
        forms = " or ".join("{" + ", ".join(option.get("required", [])) + "}"
                            for option in cause.schema["oneOf"])
        return f"config key {'.'.join(path) or '(top level)'}: expected one of the forms {forms}"
    if cause.validator == "additionalProperties" and isinstance(cause.instance, dict):
        allowed = sorted(cause.schema.get("properties", {}))
        unknown = sorted(set(cause.instance) - set(allowed))
        return f"config key {'.'.join([*path, unknown[0]])}: unknown key; allowed here: {allowed}"
    return f"config key {'.'.join(path) or '(top level)'}: {cause.message}"


def order_grid(config: dict) -> None:
    """Put the grid's lists in one order, in place: families, tasks and languages as defined, seeds
    ascending. Reordering a list in the config file then changes no job's settings: nothing reruns."""
    study = config["study"]
    study["models"] = _in_order(study["models"], list(config["models"]))
    study["tasks"] = _in_order(study["tasks"], _known_tasks(config))
    study["languages"] = _in_order(study["languages"], _defined_languages(config))
    for key in ("seeds", "pretraining_seeds"):
        study[key] = sorted(study[key])
    for spec in config["models"].values():
        spec["objectives"] = _in_order(spec["objectives"], OBJECTIVE_ORDER)


def _in_order(names: list[str], order: list[str] | tuple[str, ...]) -> list[str]:
    rank = {name: index for index, name in enumerate(order)}
    return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))


def _known_tasks(config: dict) -> tuple[str, ...]:
    if is_synthetic(config):
        return SYNTHETIC_TASKS
    from mtbridge.xglue import XGLUE_TASKS

    return XGLUE_TASKS


def _defined_languages(config: dict) -> list[str]:
    """The synthetic world's languages in the order they are defined; XGLUE's in its tasks' order."""
    if is_synthetic(config):
        return list(config["world"]["languages"])
    from mtbridge.xglue import XGLUE_LANGUAGES

    return list(dict.fromkeys(language for languages in XGLUE_LANGUAGES.values() for language in languages))


def pretraining_seed(config: dict, pseed: int) -> int:
    """The seed a checkpoint of pretraining seed ``pseed`` is trained with; pseed 1 gives ``seed``."""
    return config["seed"] + pseed - 1


def check_pretraining_seeds(config: dict) -> None:
    """Several pretraining seeds need every objective trained here: a hub checkpoint exists once."""
    if len(config["study"]["pretraining_seeds"]) < 2:
        return
    fetched = [f"{model}.{objective}" for model in config["study"]["models"]
               for objective in config["models"][model]["hub"]]
    if fetched:
        raise ConfigError(f"config key study.pretraining_seeds: more than one seed, but {fetched} come from "
                          "the hub, which has one pretraining run; keep one pretraining seed")


def check_config(config: dict) -> None:
    """Cross-reference checks: every name used in ``study`` is defined, every objective buildable."""
    study = config["study"]
    check_data_source(config)
    require_defined(study["models"], config["models"], "study.models", "models")
    if is_synthetic(config):
        require_defined(study["languages"], config["world"]["languages"], "study.languages",
                        "world.languages")
    if study["train_language"] not in study["languages"]:
        raise ConfigError(f"config key study.train_language: {study['train_language']!r} is not in "
                          f"study.languages {study['languages']}")
    check_tasks(config)
    check_pretraining_seeds(config)
    read = list(dict.fromkeys([*study["languages"], *config.get("parallel", {}).get("languages", [])]))
    for name in study["models"]:
        check_objectives(name, config["models"][name], is_synthetic(config))
        check_fallback(name, config["models"][name], read)
    unknown_tasks = sorted(set(config["finetuning"].get("tasks", {})) - set(study["tasks"]))
    if unknown_tasks:
        raise ConfigError(f"config key finetuning.tasks: settings for {unknown_tasks}, which are not "
                          f"in study.tasks {study['tasks']}")


def is_synthetic(config: dict) -> bool:
    """Whether the study runs on the embedded synthetic world (else on XGLUE)."""
    return "world" in config


def check_data_source(config: dict) -> None:
    """Exactly one of the synthetic world and XGLUE, with the sections each needs."""
    if ("world" in config) == ("xglue" in config):
        raise ConfigError("config: give exactly one of `world` (the synthetic study) and `xglue` "
                          "(the real XGLUE study)")
    needed = ("tokenizer",) if is_synthetic(config) else ("evaluation",)
    unwanted = ("xglue", "parallel", "evaluation") if is_synthetic(config) else ("tokenizer",)
    kind = "synthetic" if is_synthetic(config) else "XGLUE"
    for key in needed:
        if key not in config:
            raise ConfigError(f"config key {key}: required by the {kind} study")
    for key in unwanted:
        if key in config:
            raise ConfigError(f"config key {key}: not used by the {kind} study; remove it")
    xglue = config.get("xglue")
    if xglue and xglue["source"] not in xglue:
        raise ConfigError(f"config key xglue.{xglue['source']}: required when xglue.source is "
                          f"{xglue['source']!r}")
    evaluation = config.get("evaluation")
    if evaluation and evaluation["source"] == "flores" and "hub" not in evaluation:
        raise ConfigError("config key evaluation.hub: required when evaluation.source is 'flores'")


def check_tasks(config: dict) -> None:
    from mtbridge.xglue import XGLUE_TASKS

    known = SYNTHETIC_TASKS if is_synthetic(config) else XGLUE_TASKS
    unknown = [task for task in config["study"]["tasks"] if task not in known]
    if unknown:
        kind = "synthetic" if is_synthetic(config) else "XGLUE"
        raise ConfigError(f"config key study.tasks: {unknown} are not {kind} tasks; expected some of "
                          f"{list(known)}")
    train = config["study"]["train_language"]
    for task in config["study"]["tasks"]:
        if train not in task_languages(config, task):
            raise ConfigError(f"config key study.tasks: task {task!r} has no training data in "
                              f"{train!r} (study.train_language)")


def require_defined(names: list[str], definitions: dict, key: str, where: str) -> None:
    unknown = [name for name in names if name not in definitions]
    if unknown:
        raise ConfigError(f"config key {key}: unknown name(s) {unknown}; defined in {where}: "
                          f"{sorted(definitions)}")


def check_objectives(name: str, spec: dict, synthetic: bool) -> None:
    """Each objective must be a hub checkpoint or a recipe this family and study can run."""
    key = f"config key models.{name}"
    objectives, hub = spec["objectives"], spec["hub"]
    unlisted = sorted(set(hub) - set(objectives))
    if unlisted:
        raise ConfigError(f"{key}.hub: {unlisted} are not in models.{name}.objectives")
    if synthetic and hub:
        raise ConfigError(f"{key}.hub: hub checkpoints belong to the XGLUE study; the synthetic "
                          f"world has its own tokenizer")
    if spec["architecture"] not in SEQ2SEQ_ARCHITECTURES:
        unsupported = [objective for objective in objectives
                       if objective in MT_OBJECTIVES and objective not in hub]
        if unsupported:
            raise ConfigError(f"{key}.objectives: {unsupported} need a seq2seq architecture "
                              f"{list(SEQ2SEQ_ARCHITECTURES)}, not {spec['architecture']}")
    trained = [objective for objective in objectives
               if objective != "source" and objective not in hub]
    if trained and "source" not in objectives:
        raise ConfigError(f"{key}.objectives: {trained} start from the 'source' checkpoint, so "
                          f"'source' must be listed too")
    if "source" in objectives and "source" not in hub:
        if not synthetic:
            raise ConfigError(f"{key}.hub.source: the XGLUE study takes 'source' from the hub "
                              f"(pretraining from scratch needs the synthetic world)")
        missing = [size for size in SIZE_KEYS if size not in spec]
        if missing:
            raise ConfigError(f"{key}: {missing} are required to pretrain 'source' here")
    if "random-init" in objectives and "source" not in hub:
        missing = [size for size in SIZE_KEYS[:4] if size not in spec]
        if missing:
            raise ConfigError(f"{key}: {missing} are required to build 'random-init'")


def check_fallback(name: str, spec: dict, languages: list[str]) -> None:
    unknown = sorted(set(spec["language_fallback"]) - set(languages))
    if unknown:
        raise ConfigError(f"config key models.{name}.language_fallback: {unknown} are not in "
                          f"study.languages or parallel.languages {languages}")


def task_languages(config: dict, task: str) -> list[str]:
    """Study languages that ``task`` has data in, in configured order."""
    languages = config["study"]["languages"]
    if is_synthetic(config):
        return list(languages)
    from mtbridge.xglue import HUB_MISSING, XGLUE_LANGUAGES

    missing = HUB_MISSING.get(task, ()) if config["xglue"]["source"] == "hub" else ()
    return [language for language in languages
            if language in XGLUE_LANGUAGES[task] and language not in missing]


def evaluation_languages(config: dict) -> list[str]:
    """Study languages with parallel evaluation sentences (every one, except XNLI's 15 for ``xnli``)."""
    languages = config["study"]["languages"]
    if is_synthetic(config) or config["evaluation"]["source"] == "flores":
        return list(languages)
    from mtbridge.xglue import XGLUE_LANGUAGES

    return [language for language in languages if language in XGLUE_LANGUAGES["xnli"]]


def task_definition(config: dict, task: str) -> dict:
    """What ``task`` predicts and how it is scored, as plain data for a job's settings."""
    if is_synthetic(config):
        from mtbridge.tasks import task_spec

        spec = task_spec(task, config["world"])
    else:
        from mtbridge.xglue import xglue_task_spec

        spec = xglue_task_spec(task)
    return {"name": spec.name, "kind": spec.kind, "metric": spec.metric, "labels": list(spec.labels)}


def job_resources(config: dict, kind: str) -> dict:
    """Threads and scheduler resources of one kind of job: defaults, then ``resources.<kind>``."""
    resources = {"threads": config["threads"], **RESOURCE_DEFAULTS[kind]}
    resources.update(config["resources"].get(kind) or {})
    return resources


def parallel_pairs(config: dict) -> list[tuple[str, str]]:
    """Language pairs with a parallel corpus, English-centric as mBART-50's MT fine-tuning data (ML50):
    the train language with every other study language (synthetic) or each `parallel.languages`.
    Every MT objective reads all of them, in its own directions (pretraining.keeps_direction)."""
    train = config["study"]["train_language"]
    if not is_synthetic(config):
        return [(train, other) for other in config.get("parallel", {}).get("languages", [])]
    return [(train, other) for other in config["study"]["languages"] if other != train]



def model_objectives(config: dict) -> list[tuple[str, str]]:
    """Every (model, objective) of the study, in configured order."""
    return [(model, objective) for model in config["study"]["models"]
            for objective in config["models"][model]["objectives"]]


def continued_variants(config: dict, model: str) -> list[str]:
    """Objectives compared with ``model``'s source checkpoint by CKA; none if source is not trained."""
    objectives = config["models"][model]["objectives"]
    return [objective for objective in objectives if objective != "source"] if "source" in objectives else []


def canonical(value: Any) -> Any:
    """``value`` with every mapping's keys sorted."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def finetuning_settings(config: dict, task: str, model: str | None = None) -> dict[str, Any]:
    """The shared defaults, then the task's settings, then the model family's (e.g. its batch size)."""
    settings = copy.deepcopy(config["finetuning"]["defaults"])
    settings.update(config["finetuning"].get("tasks", {}).get(task) or {})
    if model is not None:
        settings.update(config["models"][model].get("finetuning") or {})
    return settings


def world_slice(config: dict, languages: list[str], sizes: tuple[str, ...]) -> dict:
    """The world definition restricted to ``languages`` and the ``sizes`` a job reads: its params
    change only with what it writes."""
    world = copy.deepcopy(config["world"])
    world["languages"] = {code: world["languages"][code] for code in languages}
    world["sizes"] = {key: world["sizes"][key] for key in sizes}
    return world
