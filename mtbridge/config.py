"""Reading the study configuration: validation beyond the schema, and the grid it implies.

The JSON schema (``schemas/config.schema.yaml``) checks keys and types; the checks
here are the ones a schema cannot express: names that must refer to definitions
elsewhere in the file, and objectives an architecture cannot train.
"""

from __future__ import annotations

import copy
import os
from itertools import combinations
from pathlib import Path
from typing import Any

import yaml

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"
BUILT_OBJECTIVES = ("source", "random-init")
CONTINUED_OBJECTIVES = ("denoise-cp", "mt-m2m", "mt-o2m", "mt-m2o")  # continue `source`; seq2seq only
OBJECTIVES = (*BUILT_OBJECTIVES, *CONTINUED_OBJECTIVES)


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
    if cause.validator == "additionalProperties" and isinstance(cause.instance, dict):
        allowed = sorted(cause.schema.get("properties", {}))
        unknown = sorted(set(cause.instance) - set(allowed))
        return f"config key {'.'.join([*path, unknown[0]])}: unknown key; allowed here: {allowed}"
    return f"config key {'.'.join(path) or '(top level)'}: {cause.message}"


def check_config(config: dict) -> None:
    """Cross-reference checks: every name used in ``study`` is defined, every objective trainable."""
    study = config["study"]
    require_defined(study["models"], config["models"], "study.models", "models")
    require_defined(study["languages"], config["world"]["languages"], "study.languages",
                    "world.languages")
    if study["train_language"] not in study["languages"]:
        raise ConfigError(f"config key study.train_language: {study['train_language']!r} is not in "
                          f"study.languages {study['languages']}")
    for name in study["models"]:
        check_objectives(name, config["models"][name])
    unknown_tasks = sorted(set(config["finetuning"].get("tasks", {})) - set(study["tasks"]))
    if unknown_tasks:
        raise ConfigError(f"config key finetuning.tasks: settings for {unknown_tasks}, which are not "
                          f"in study.tasks {study['tasks']}")


def require_defined(names: list[str], definitions: dict, key: str, where: str) -> None:
    unknown = [name for name in names if name not in definitions]
    if unknown:
        raise ConfigError(f"config key {key}: unknown name(s) {unknown}; defined in {where}: "
                          f"{sorted(definitions)}")


def check_objectives(name: str, spec: dict) -> None:
    objectives = spec["objectives"]
    if spec["architecture"] != "mbart":
        unsupported = [objective for objective in objectives if objective in CONTINUED_OBJECTIVES]
        if unsupported:
            raise ConfigError(f"config key models.{name}.objectives: {unsupported} need a "
                              f"seq2seq (mbart) architecture, not {spec['architecture']}")
    continued = [objective for objective in objectives if objective in CONTINUED_OBJECTIVES]
    if continued and "source" not in objectives:
        raise ConfigError(f"config key models.{name}.objectives: {continued} continue the 'source' "
                          f"checkpoint, so 'source' must be listed too")


def parallel_pairs(config: dict) -> list[tuple[str, str]]:
    """Language pairs with a parallel corpus: train language with every other, and every X–Y."""
    train = config["study"]["train_language"]
    others = [code for code in config["study"]["languages"] if code != train]
    return [(train, other) for other in others] + list(combinations(others, 2))


def mt_pairs(config: dict, objective: str) -> list[tuple[str, str]]:
    """Parallel corpora an MT objective reads: one-to-many and many-to-one use only en–X."""
    pairs = parallel_pairs(config)
    if objective == "mt-m2m":
        return pairs
    train = config["study"]["train_language"]
    return [pair for pair in pairs if train in pair]


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


def finetuning_settings(config: dict, task: str) -> dict[str, Any]:
    """Task settings over the shared defaults."""
    settings = copy.deepcopy(config["finetuning"]["defaults"])
    settings.update(config["finetuning"].get("tasks", {}).get(task) or {})
    return settings


def world_slice(config: dict, languages: list[str]) -> dict:
    """The world definition restricted to ``languages``: a job's params change only with them."""
    world = copy.deepcopy(config["world"])
    world["languages"] = {code: world["languages"][code] for code in languages}
    return world
