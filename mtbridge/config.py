"""Reading the study configuration: validation beyond the schema, and the grid it implies.

The JSON schema (``schemas/config.schema.yaml``) checks keys and types; the checks
here are the ones a schema cannot express: names that must refer to definitions
elsewhere in the file, and objectives an architecture cannot train.
"""

from __future__ import annotations

import copy
import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError, validators

from mtbridge.aliases import PathLike

# the objectives live in a module of their own (jobs import them without this one); named here too
from mtbridge.objectives import (  # noqa: F401
    ALIGNMENT_OBJECTIVES,
    BUILT_OBJECTIVES,
    CONTINUED_OBJECTIVES,
    ENCODER_ONLY_OBJECTIVES,
    MT_OBJECTIVES,
    OBJECTIVES,
    SEQ2SEQ_ARCHITECTURES,
    SPECTRAL_SWAPS,
    TRAINABLE_CONTINUED,
    spectral_swap_objective,
)

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"
# Issue #15's objectives (DAG side only: the job modules keep importing objectives.py unchanged): the
# token-level alignment objectives, and the spectral swaps of every continued objective, written
# `<continued>+source-spectrum` / `<continued>+source-vectors` (objectives.spectral_swap_objective).
SWAP_OBJECTIVES = tuple(spectral_swap_objective(continued, swap)
                        for continued in TRAINABLE_CONTINUED for swap in SPECTRAL_SWAPS)
KNOWN_OBJECTIVES = (*OBJECTIVES, *ALIGNMENT_OBJECTIVES, *SWAP_OBJECTIVES)  # what models.<m>.objectives takes
# table rows: each continued objective followed by its spectral swaps
OBJECTIVE_ORDER = ("source", *(name for continued in ("denoise-cp", "mlm-cp", "tlm-cp", "codeswitch-cp",
                                                      "mt-m2m", "mt-o2m", "mt-m2o")
                               for name in (continued, *(spectral_swap_objective(continued, swap)
                                                         for swap in SPECTRAL_SWAPS))), "random-init")
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
    "light": {"mem_mb": 1000, "runtime": 15, "gpu": 0},  # CKA, probes on dumps, tables, figures: CPU
}
MAX_SHOWN_ERRORS = 5
DEFAULT_CODESWITCH_SHARE = 0.3  # continued_pretraining.codeswitch_share when not given
# A decimal number, which YAML 1.1 reads as text when written like 5e-4 or 1e3 (no dot, or a sign).
NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
TYPE_WORDS = {"integer": "a whole number", "number": "a number", "string": "text", "boolean": "true or false",
              "array": "a list", "object": "a mapping of keys to values", "null": "nothing"}
# Every `pattern` of the schema, in words (tests/test_config.py checks that none is missing).
PATTERN_WORDS = {
    "^[a-z][a-z0-9]*$": "a name: lowercase letters and digits only, starting with a letter",
    "^[A-Za-z0-9][A-Za-z0-9_.-]*$": "letters, digits, '_', '.' or '-', starting with a letter or digit",
    "^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$":
        "a hub id, name or owner/name, of letters, digits, '.', '_' or '-'",
    "^[A-Za-z0-9._/-]+$": "a revision: letters, digits, '.', '_', '/' or '-' (best a commit id)",
    "^[a-z]+>[a-z]*$": "a sound change 'from>to' in lowercase letters, e.g. k>c",
    "^[a-z]*$": "lowercase letters only",
    "^[a-z]+$": "one or more lowercase letters",
    "^[0-9a-f]{64}$": "a sha256 checksum: 64 lowercase hexadecimal digits",
    "^[a-z]{3}_[A-Z][a-z]{3}$": "a FLORES code: three lowercase letters, '_', a script (e.g. cmn_Hans)",
}
# Values that name a definition elsewhere in the config: a typo gets the closest defined name.
REFERENCES = {"study.models": "models", "study.languages": "world.languages",
              "study.train_language": "study.languages"}


class ConfigError(ValueError):
    """A configuration problem, reported in one line per mistake that names the key."""


def load_config(path: PathLike, overrides: Mapping | None = None) -> dict:
    """Load, fill defaults, and check a config the same way the Snakefile does (``overrides`` as --config)."""
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    prepare_config(config, overrides=overrides)
    return config


def prepare_config(config: dict, schema_path: PathLike = SCHEMA, overrides: Mapping | None = None,
                   exit_on_error: bool = False) -> None:
    """Apply command-line ``overrides``, validate, fill defaults, cross-check, and sort keys, in place.

    Keys are sorted because Snakemake compares a job's params by their printed form:
    reordering keys in the config file must not rerun jobs whose settings did not change.
    ``exit_on_error`` ends the process with just the error lines: Snakemake prints a traceback
    after any exception raised while it reads the Snakefile, but only the message of a SystemExit.
    """
    try:
        merge_config(config, typed_overrides(overrides or {}))
        validate_schema(config, schema_path)
        check_config(config)
    except ConfigError as error:
        if exit_on_error:
            raise SystemExit(str(error)) from None
        raise
    order_grid(config)
    config.update(canonical(config))


def typed_overrides(overrides: Mapping) -> dict:
    """Snakemake's ``--config`` values with every string read again as YAML (``'1'`` → 1, ``'true'`` → True).

    Snakemake parses the values inside a ``--config key={...}`` with YAML's BaseLoader, which
    makes every scalar a string; read again, they mean what they would in the config file.
    """
    return {key: typed_value(value) for key, value in overrides.items()}


def typed_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return typed_overrides(value)
    if isinstance(value, list):
        return [typed_value(item) for item in value]
    if not isinstance(value, str) or not value.strip():
        return value
    try:
        typed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    return typed if isinstance(typed, (str, int, float, bool, list, dict)) else value  # not a date


def merge_config(config: dict, changes: Mapping) -> None:
    """Merge ``changes`` into ``config`` as Snakemake merges ``--config``: mappings key by key."""
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(config.get(key), dict):
            merge_config(config[key], value)
        else:
            config[key] = copy.deepcopy(value)


def validate_schema(config: dict, schema_path: PathLike = SCHEMA) -> None:
    """Validate against the schema and fill its defaults, reporting every mistake at once.

    Numbers that YAML 1.1 (PyYAML, Snakemake) reads as text, e.g. ``5e-4``, become numbers first.
    """
    validator = defaulting_validator(load_schema(str(schema_path)))
    for error in list(validator.iter_errors(config)):
        coerce_number(config, error)
    errors = list(validator.iter_errors(config))
    if errors:
        raise ConfigError(errors_message([line for error in errors for line in schema_lines(error, config)]))


@functools.lru_cache
def load_schema(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def defaulting_validator(schema: dict) -> Draft202012Validator:
    """A validator that fills each missing key that has a ``default`` (as Snakemake's validate does)."""
    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def fill_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(key, copy.deepcopy(subschema["default"]))
        yield from check_properties(validator, properties, instance, schema)

    return validators.extend(Draft202012Validator, {"properties": fill_defaults})(schema)


def coerce_number(config: dict, error: ValidationError) -> None:
    """Replace a number YAML 1.1 read as text (``5e-4``) where the schema wants one, in place."""
    if error.validator != "type" or not isinstance(error.instance, str) or not NUMBER.match(error.instance):
        return
    value, expected = float(error.instance), expected_types(error)
    if "integer" in expected and value.is_integer():
        value = int(value)
    elif "number" not in expected:
        return
    *parents, last = error.absolute_path
    node = config
    for part in parents:
        node = node[part]
    node[last] = value


def errors_message(lines: list[str]) -> str:
    """The first few distinct lines, then how many more: the first mistakes are the ones to fix."""
    lines = list(dict.fromkeys(lines))
    hidden = len(lines) - MAX_SHOWN_ERRORS
    return "\n".join(lines[:MAX_SHOWN_ERRORS] + ([f"... and {hidden} more"] if hidden > 0 else []))


def schema_lines(error: ValidationError, config: dict) -> list[str]:
    """One line per mistake in ``error``: ``config key <dotted.path>: what is wrong[; did you mean]``."""
    path = [str(part) for part in error.absolute_path]
    if "propertyNames" in error.schema_path:  # the key itself is wrong
        return [key_line([*path, str(error.instance)], error)]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = [key for key in error.instance if key not in allowed]
        return [unknown_key([*path, key], allowed) for key in unknown]
    if error.validator == "required" and isinstance(error.instance, dict):
        return [f"config key {dotted([*path, key])}: required, but missing"
                for key in error.validator_value if key not in error.instance]
    return [f"config key {dotted(path)}: {value_problem(error, path, config)}"]


def unknown_key(path: list[str], allowed: list[str]) -> str:
    return f"config key {dotted(path)}: unknown key{did_you_mean(path[-1], allowed)}; allowed here: {allowed}"


def key_line(path: list[str], error: ValidationError) -> str:
    """A key that must name something (a task, a model family) and does not."""
    if error.validator == "enum":
        return unknown_key(path, list(error.validator_value))
    if error.validator == "pattern":
        return f"config key {dotted(path)}: not a valid key: expected {pattern_words(error.validator_value)}"
    return f"config key {dotted(path)}: {error.message}"


def value_problem(error: ValidationError, path: list[str], config: dict) -> str:
    """What is wrong with a value: what was given, what is expected, and a close valid one if any."""
    given, wanted = brief(error.instance), error.validator_value
    if error.validator == "type":
        kinds = expected_types(error)
        return (f"{given} is not of type {' or '.join(map(repr, kinds))}: expected "
                f"{' or '.join(TYPE_WORDS.get(kind, kind) for kind in kinds)}")
    if error.validator == "enum":
        return f"{given} is not one of {wanted}{did_you_mean(error.instance, wanted)}"
    if error.validator == "pattern":
        return (f"{given} does not match the form of {pattern_words(wanted)}"
                f"{did_you_mean(error.instance, referenced_names(path, config))}")
    if error.validator == "oneOf":
        forms = " or ".join("{" + ", ".join(option.get("required", [])) + "}" for option in wanted)
        return f"expected one of the forms {forms}"
    return error.message if len(error.message) <= 200 else f"{given}: {error.validator} {wanted}"


def expected_types(error: ValidationError) -> list[str]:
    return error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]


def dotted(path: list[str]) -> str:
    return ".".join(path) or "(top level)"


def brief(value: Any) -> str:
    """``repr(value)``, shortened: the line names the key, so long values need not be shown whole."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def pattern_words(pattern: str) -> str:
    return PATTERN_WORDS.get(pattern, f"the regular expression {pattern}")


def did_you_mean(word: Any, candidates: Iterable[Any]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``candidates`` to a mistyped ``word``, else nothing."""
    matches = difflib.get_close_matches(str(word), [str(candidate) for candidate in candidates], n=1)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def referenced_names(path: list[str], config: dict) -> list[str]:
    """The names a value at ``path`` must be one of, where it refers to definitions (REFERENCES)."""
    where = REFERENCES.get(".".join(part for part in path if not part.isdigit()))
    node: Any = config if where else None
    for part in (where or "").split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return [str(name) for name in node] if isinstance(node, (dict, list)) else []


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
                          f"study.languages {study['languages']}"
                          f"{did_you_mean(study['train_language'], study['languages'])}")
    check_tasks(config)
    check_pretraining_seeds(config)
    check_resource_levels(config)
    read = list(dict.fromkeys([*study["languages"], *config.get("parallel", {}).get("languages", [])]))
    for name in study["models"]:
        check_objectives(name, config["models"][name], is_synthetic(config))
        check_fallback(name, config["models"][name], read)
        check_distinct_tags(name, config["models"][name], continued_languages(config))
    check_before_compute(config)


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
    """The study's tasks, and those with fine-tuning settings, must be tasks of the data source.

    Settings may be kept for a task the grid does not run (a smaller study reuses the config).
    """
    known = _known_tasks(config)
    kind = "synthetic" if is_synthetic(config) else "XGLUE"
    unknown = [task for task in config["study"]["tasks"] if task not in known]
    if unknown:
        raise ConfigError(f"config key study.tasks: {unknown} are not {kind} tasks; expected some of "
                          f"{list(known)}")
    for task in config["finetuning"].get("tasks", {}):
        if task not in known:
            raise ConfigError(f"config key finetuning.tasks.{task}: not a {kind} task; expected one of "
                              f"{list(known)}{did_you_mean(task, known)}")
    train = config["study"]["train_language"]
    for task in config["study"]["tasks"]:
        if train not in task_languages(config, task):
            raise ConfigError(f"config key study.tasks: task {task!r} has no training data in "
                              f"{train!r} (study.train_language)")


def require_defined(names: list[str], definitions: dict, key: str, where: str) -> None:
    """Each name the grid uses must be defined; definitions the grid does not use are allowed."""
    unknown = [name for name in names if name not in definitions]
    if unknown:
        close = "".join(did_you_mean(name, definitions) for name in unknown)
        raise ConfigError(f"config key {key}: unknown name(s) {unknown}; defined in {where}: "
                          f"{sorted(definitions)}{close}")


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
    if spec["architecture"] in SEQ2SEQ_ARCHITECTURES:
        unsupported = [objective for objective in objectives if objective in ENCODER_ONLY_OBJECTIVES]
        if unsupported:
            raise ConfigError(f"{key}.objectives: {unsupported} need a masked-LM architecture, not "
                              f"{spec['architecture']}")
    elif "denoise-cp" in objectives and "denoise-cp" not in hub:
        # for an encoder the source objective continued is masked LM: mlm-cp trains the same weights
        raise ConfigError(f"{key}.objectives: 'denoise-cp' of a masked-LM family is masked LM continued, "
                          f"listed as 'mlm-cp' here (did you mean 'mlm-cp'?)")
    trained = [objective for objective in objectives
               if objective != "source" and objective not in hub]
    if trained and "source" not in objectives:
        raise ConfigError(f"{key}.objectives: {trained} start from the 'source' checkpoint, so "
                          f"'source' must be listed too")
    for objective in objectives:
        parent = swap_parent(objective)
        if parent is not None and parent not in objectives:
            raise ConfigError(f"{key}.objectives: {objective!r} swaps the spectra of {parent!r} and "
                              f"'source', so {parent!r} must be listed too")
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


def swap_parent(objective: str) -> str | None:
    """The continued objective a spectral swap is derived from (``mt-m2o+source-spectrum``: mt-m2o);
    None for any other objective."""
    return objective.partition("+")[0] if objective in SWAP_OBJECTIVES else None


def check_fallback(name: str, spec: dict, languages: list[str]) -> None:
    unknown = sorted(set(spec["language_fallback"]) - set(languages))
    if unknown:
        raise ConfigError(f"config key models.{name}.language_fallback: {unknown} are not in "
                          f"study.languages or parallel.languages {languages}")


def continued_languages(config: dict) -> list[str]:
    """Languages continued pretraining reads: the study's (synthetic), or the train language and
    ``parallel.languages`` (XGLUE)."""
    if is_synthetic(config):
        return list(config["study"]["languages"])
    return [config["study"]["train_language"], *config.get("parallel", {}).get("languages", [])]


def continued_trained_here(spec: dict) -> list[str]:
    """The family's continued objectives the pipeline trains itself (not fetched from the hub)."""
    return [objective for objective in spec["objectives"]
            if objective in TRAINABLE_CONTINUED and objective not in spec["hub"]]


def check_distinct_tags(name: str, spec: dict, languages: list[str]) -> None:
    """Languages that share a tag through ``language_fallback`` must not both be continued-pretraining
    languages of a tagged family: the tag is what tells an MT decoder which language to write."""
    trained = continued_trained_here(spec)
    if not trained or spec["architecture"] not in SEQ2SEQ_ARCHITECTURES:
        return
    fallback, sharing = spec["language_fallback"], {}
    for language in dict.fromkeys(languages):
        sharing.setdefault(fallback.get(language, language), []).append(language)
    for tag, group in sharing.items():
        if len(group) > 1:
            raise ConfigError(f"config key models.{name}.language_fallback: {group} share the language "
                              f"tag of {tag!r}, but continued pretraining {trained} reads them all "
                              f"(study.train_language and parallel.languages); drop one from "
                              f"parallel.languages")


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


def world_slice(config: dict, languages: list[str], sizes: tuple[str, ...], scaled: bool = False) -> dict:
    """The world definition restricted to ``languages`` and the ``sizes`` a job reads: its params
    change only with what it writes. With ``scaled``, ``sizes.monolingual`` (one language) and
    ``sizes.parallel`` (a pair) are those of the languages' resource levels (mtbridge.resources); the
    levels themselves are the DAG's business, so a job's world names none (a level changes a job's
    settings only where it changes its size)."""
    from mtbridge import resources

    full = config["world"]
    world = copy.deepcopy(full)
    world.pop("resource_levels", None)
    world.pop("train_sizes", None)
    world["languages"] = {code: {key: value for key, value in world["languages"][code].items()
                                 if key != "resource"} for code in languages}
    world["sizes"] = {key: world["sizes"][key] for key in sizes}
    if scaled and "monolingual" in sizes and len(languages) == 1:
        world["sizes"]["monolingual"] = resources.language_sizes(full, languages[0])["monolingual"]
    if scaled and "parallel" in sizes and len(languages) == 2:
        world["sizes"]["parallel"] = resources.pair_size(full, *languages)
    return world


def task_split_world(config: dict, task: str, split: str, language: str) -> dict:
    """The world a task split job reads; a train split holds the task's own ``world.train_sizes``
    entry where it has one (NLI needs more examples than topic to be learned at all)."""
    world = world_slice(config, [language], (split,))
    if split == "train":
        world["sizes"]["train"] = config["world"].get("train_sizes", {}).get(task, world["sizes"]["train"])
    return world


def parallel_resources(config: dict) -> dict:
    """The XGLUE study's resource levels as a world would hold them (levels, each language's level and
    ``sizes.parallel`` = ``parallel.max_pairs``), for mtbridge.resources."""
    from mtbridge.resources import FULL

    parallel = config.get("parallel") or {}
    levels = parallel.get("resources", {})
    languages = [config["study"]["train_language"], *parallel.get("languages", []), *levels]
    return {"resource_levels": parallel.get("resource_levels", {}),
            "languages": {language: {"resource": levels.get(language, FULL)} for language in languages},
            "sizes": {"parallel": parallel.get("max_pairs", 1)}}


PAIR_KEYS_NOT_READ = ("dictionaries", "resource_levels", "resources")  # the DAG's, not the corpus job's


def pair_parallel_settings(config: dict, source: str, target: str) -> dict:
    """What the XGLUE study's parallel-corpus job of one pair reads: ``parallel`` with ``max_pairs``
    capped by the pair's resource level and without the keys only the DAG reads."""
    from mtbridge.resources import pair_size

    settings = {key: value for key, value in config["parallel"].items() if key not in PAIR_KEYS_NOT_READ}
    if config["parallel"].get("resource_levels"):
        settings["max_pairs"] = pair_size(parallel_resources(config), source, target)
    return settings


def resource_groups(config: dict) -> dict[str, list[str]]:
    """The study's languages by resource level, levels in first-seen order (resources.by_level)."""
    from mtbridge.resources import by_level

    world = config["world"] if is_synthetic(config) else parallel_resources(config)
    known = {**{language: {} for language in config["study"]["languages"]}, **world["languages"]}
    return by_level({**world, "languages": known}, config["study"]["languages"])


def check_resource_levels(config: dict) -> None:
    """Every level a language names is defined (a share in (0, 1] or both shares)."""
    from mtbridge.resources import level_factors

    if is_synthetic(config):
        levels = config["world"].get("resource_levels", {})
        named = {f"world.languages.{code}.resource": spec["resource"]
                 for code, spec in config["world"]["languages"].items() if "resource" in spec}
    else:
        parallel = config.get("parallel") or {}
        levels = parallel.get("resource_levels", {})
        named = {f"parallel.resources.{code}": level for code, level in parallel.get("resources", {}).items()}
    for key, level in named.items():
        try:
            level_factors(levels, level, key)
        except ValueError as error:
            message = str(error).removeprefix(f"{key}: ")
            raise ConfigError(f"config key {key}: {message}") from None


# --- values the schema accepts but a job cannot use: each fails here, not hours into a run -----------

BUILT_ARCHITECTURES = ("mbart", "xlm-roberta")  # mtbridge.models.build_config builds these from sizes
MIN_DEBIASED_SENTENCES = 4  # debiased HSIC divides by n(n-3)(n-2)


def check_before_compute(config: dict) -> None:
    """Cross-checks of values that would make a job fail later (see docs/configuration.md)."""
    for name in config["study"]["models"]:
        spec = config["models"][name]
        check_built_architecture(name, spec)
        check_attention_heads(name, spec)
    check_parallel_corpus_needed(config)
    check_cka_sentences(config)
    check_flores_codes(config)
    check_local_inputs(config)


def builds_here(spec: dict) -> bool:
    """Whether the family's architecture is built from its sizes (source or random-init not from the hub)."""
    return "source" not in spec["hub"] and bool({"source", "random-init"} & set(spec["objectives"]))


def check_built_architecture(name: str, spec: dict) -> None:
    """Only mBART and XLM-R are built from sizes; another architecture fails in the pretraining job."""
    if builds_here(spec) and spec["architecture"] not in BUILT_ARCHITECTURES:
        raise ConfigError(f"config key models.{name}.architecture: {spec['architecture']!r} is not built "
                          f"from sizes here; expected one of {list(BUILT_ARCHITECTURES)} (or take "
                          f"'source' from the hub)")


def check_attention_heads(name: str, spec: dict) -> None:
    """Attention splits the hidden size evenly over the heads; transformers refuses otherwise, in the job."""
    if not builds_here(spec) or "hidden_size" not in spec or "attention_heads" not in spec:
        return
    if spec["hidden_size"] % spec["attention_heads"]:
        raise ConfigError(f"config key models.{name}.attention_heads: {spec['attention_heads']} does not "
                          f"divide hidden_size {spec['hidden_size']}; expected a divisor of it")


def check_parallel_corpus_needed(config: dict) -> None:
    """In the XGLUE study a continued objective trained here reads the `parallel` corpus."""
    if is_synthetic(config) or "parallel" in config:
        return
    trained = [f"{name}.{objective}" for name in config["study"]["models"]
               for objective in continued_trained_here(config["models"][name])]
    if trained:
        raise ConfigError(f"config key parallel: required to train {trained} (continued pretraining reads "
                          f"the parallel corpus); add `parallel` or take them from the hub")


def check_cka_sentences(config: dict) -> None:
    """The debiased CKA estimator needs at least 4 sentences; the analysis job would stop there."""
    if config["analysis"]["estimator"] != "debiased":
        return
    key, count = (("world.sizes.evaluation", config["world"]["sizes"]["evaluation"]) if is_synthetic(config)
                  else ("evaluation.max_sentences", config["evaluation"]["max_sentences"]))
    if count < MIN_DEBIASED_SENTENCES:
        raise ConfigError(f"config key {key}: {count} sentences, but the debiased CKA estimator "
                          f"(analysis.estimator) needs at least {MIN_DEBIASED_SENTENCES}")


def check_flores_codes(config: dict) -> None:
    """Every study language needs a FLORES file code when FLORES gives the evaluation sentences."""
    evaluation = config.get("evaluation") or {}
    if evaluation.get("source") != "flores":
        return
    from mtbridge.tokenizer import NLLB_CODES

    missing = [language for language in config["study"]["languages"]
               if language not in evaluation["codes"] and language not in NLLB_CODES]
    if missing:
        raise ConfigError(f"config key evaluation.codes: no FLORES code for {missing}; add e.g. "
                          f"`{missing[0]}: xxx_Latn` (ISO 639-3 and script)")


def check_local_inputs(config: dict) -> None:
    """Files a config points at (a local checkpoint, dataset or release) are there and whole."""
    for key, given, check in local_input_checks(config):
        try:
            check()
        except ValueError as error:
            where = "" if Path(given).expanduser().is_absolute() else (
                f" (a relative path is read from the study's folder {study_folder(config)}/)")
            raise ConfigError(f"config key {key}: {error}{where}") from None


def study_folder(config: dict) -> str:
    from mtbridge.paths import study_root

    return study_root(config["study"]["name"])


def local_path(config: dict, given: str) -> Path:
    """Where a job finds ``given``: jobs run in the study's folder, so a relative path is read from there."""
    path = Path(given).expanduser()
    return path if path.is_absolute() else Path(study_folder(config)) / path


def local_input_checks(config: dict) -> list[tuple[str, str, Any]]:
    """(config key, path as given, check) for every local path of the config; hub ids are checked by
    their jobs once downloaded."""
    from mtbridge import inputs

    checks: list[tuple[str, str, Any]] = []
    partial = functools.partial
    for name in config["study"]["models"]:
        spec = config["models"][name]
        for objective, ref in spec["hub"].items():
            if objective in spec["objectives"] and "path" in ref:
                checks.append((f"models.{name}.hub.{objective}.path", ref["path"], partial(
                    inputs.check_checkpoint, local_path(config, ref["path"]), spec["architecture"],
                    spec["max_length"])))
    xglue = config.get("xglue") or {}
    if xglue.get("source") == "release":
        given = xglue["release"]["path"]
        checks.append(("xglue.release.path", given, partial(inputs.check_release, local_path(config, given))))
    if xglue.get("source") == "hub" and "path" in xglue["hub"]:
        given = xglue["hub"]["path"]
        checks.append(("xglue.hub.path", given, partial(inputs.check_dataset_folder,
                                                        local_path(config, given))))
    if "path" in config.get("parallel", {}).get("hub", {}):
        given = config["parallel"]["hub"]["path"]
        checks.append(("parallel.hub.path", given, partial(check_parallel_folder, config,
                                                           local_path(config, given))))
    parallel = config.get("parallel") or {}
    for language, given in parallel.get("dictionaries", {}).items():
        if language not in parallel["languages"]:
            raise ConfigError(f"config key parallel.dictionaries.{language}: not in parallel.languages "
                              f"{parallel['languages']}{did_you_mean(language, parallel['languages'])}")
        if given != "induce":
            checks.append((f"parallel.dictionaries.{language}", given,
                           partial(check_dictionary, local_path(config, given))))
    evaluation = config.get("evaluation") or {}
    if evaluation.get("source") == "flores" and "path" in evaluation["hub"]:
        given = evaluation["hub"]["path"]
        checks.append(("evaluation.hub.path", given, partial(check_flores_folder, config,
                                                             local_path(config, given))))
    return checks


def check_dictionary(path: Path) -> None:
    """A user's bilingual dictionary is there and parses (MUSE-style: ``source target`` per line)."""
    from mtbridge.codeswitch import read_dictionary

    read_dictionary(path)


def check_parallel_folder(config: dict, root: Path) -> None:
    """Each language pair's Parquet files in a local parallel corpus, with both languages in them."""
    from mtbridge import inputs
    from mtbridge.corpora import pair_config
    from mtbridge.hub import parquet_files

    parallel = config["parallel"]
    inputs.check_dataset_folder(root)
    for source, target in parallel_pairs(config):
        try:
            files = parquet_files(root, pair_config(source, target), parallel["split"])
        except FileNotFoundError as error:
            raise ValueError(str(error)) from None
        for path in files:
            inputs.check_parallel_file(path, source, target)


def check_flores_folder(config: dict, root: Path) -> None:
    """A local FLORES copy holds a file of the split for every study language (as their codes name it)."""
    from mtbridge import inputs
    from mtbridge.corpora import flores_code
    from mtbridge.hub import parquet_files

    evaluation = config["evaluation"]
    inputs.check_dataset_folder(root)
    for language in config["study"]["languages"]:
        try:
            files = parquet_files(root, evaluation["split"], flores_code(language, evaluation["codes"]))
        except FileNotFoundError as error:
            raise ValueError(str(error)) from None
        for path in files:
            inputs.check_parquet(path)

