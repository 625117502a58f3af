"""The study configuration: shipped configs load, defaults are filled, mistakes name their key."""

from __future__ import annotations

import copy
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from conftest import MICRO, ROOT
from snakemake_runner import copy_workflow, environment, snakemake

from mtbridge.config import (
    PATTERN_WORDS,
    SCHEMA,
    ConfigError,
    finetuning_settings,
    load_config,
    model_objectives,
    parallel_pairs,
    prepare_config,
    typed_overrides,
)

DEFAULT = ROOT / "config.yaml"
OTHERS = ["close", "mid", "distant", "isolate"]


@pytest.fixture(scope="module")
def default_config() -> dict:
    return load_config(DEFAULT)


def test_default_config_loads_with_defaults(default_config: dict) -> None:
    assert default_config["threads"] == 1 and default_config["warm_workers"] is True
    assert default_config["study"]["languages"] == ["en", *OTHERS]
    assert default_config["world"]["languages"]["isolate"]["script"] == "cyrillic"
    assert default_config["models"]["mbart"]["max_length"] == 64


def test_micro_config_loads_with_defaults(micro_config: dict) -> None:
    assert micro_config["threads"] == 1 and micro_config["warm_workers"] is True
    assert micro_config["study"]["train_language"] == "en" and micro_config["study"]["seeds"] == [1]
    english = micro_config["world"]["languages"]["en"]
    assert english == {"word_order": "SVO", "cognate_share": 1.0, "adjective": "before",
                       "adposition": "preposition", "sound_changes": [], "script": "latin",
                       "suffixes": {"plural": "s", "verb_singular": "s", "verb_plural": ""}}
    assert micro_config["world"]["languages"]["isolate"]["script"] == "cyrillic"
    assert micro_config["world"]["names"] == 48 and micro_config["world"]["conversion_share"] == 0.6
    assert micro_config["continued_pretraining"]["warmup_ratio"] == 0.1
    assert micro_config["models"]["xlmr"]["pretraining"]["warmup_steps"] == 0
    assert micro_config["finetuning"]["tasks"] == {}
    assert finetuning_settings(micro_config, "pos") == {
        "epochs": 8, "batch_size": 16, "learning_rate": 0.002, "warmup_ratio": 0.1, "dropout": 0.1,
        "evaluations_per_epoch": 2, "pooling": "mean", "gradient_accumulation": 1, "eval_batch_size": 64}


def test_overrides_replace_top_level_keys() -> None:
    assert load_config(MICRO, {"threads": 2, "warm_workers": False})["threads"] == 2
    with pytest.raises(ConfigError, match="config key threads: 0 is less than the minimum of 1"):
        load_config(MICRO, {"threads": 0})


def set_key(path: str, value: object) -> Callable[[dict], None]:
    """A change that sets the dotted ``path`` of a config to ``value``."""
    *parents, last = path.split(".")

    def change(config: dict) -> None:
        node = config
        for part in parents:
            node = node[part]
        node[last] = value
    return change


MISTAKES = [  # (change, the key its message names, what it says)
    (set_key("bogus", 1), "bogus", "unknown key; allowed here"),
    (set_key("models.mbart.dropout", 0.1), "models.mbart.dropout", "unknown key; allowed here"),
    (set_key("models.mbart.hidden_size", "big"), "models.mbart.hidden_size",
     "'big' is not of type 'integer'"),
    (set_key("study.languages", ["en", "klingon"]), "study.languages", "unknown name(s) ['klingon']"),
    (set_key("study.models", ["mbart", "gpt"]), "study.models", "unknown name(s) ['gpt']"),
    (set_key("study.tasks", ["nli", "qa"]), "study.tasks.1", "'qa' is not one of"),
    (set_key("models.xlmr.objectives", ["source", "mt-o2m"]), "models.xlmr.objectives",
     "['mt-o2m'] need a seq2seq architecture ['mbart', 'nllb'], not xlm-roberta"),
    (set_key("models.mbart.objectives", ["mt-m2m"]), "models.mbart.objectives",
     "so 'source' must be listed too"),
    (set_key("study.train_language", "klingon"), "study.train_language",
     "'klingon' is not in study.languages"),
    (set_key("finetuning.tasks.xnli", {}), "finetuning.tasks.xnli",
     "not a synthetic task; expected one of ['nli', 'paraphrase', 'topic', 'pos', 'ner']"),
]


@pytest.mark.parametrize(("change", "key", "detail"), MISTAKES, ids=[key for _, key, _ in MISTAKES])
def test_mistakes_fail_in_one_line_naming_the_key(tmp_path: Path, change: Callable[[dict], None], key: str,
                                                 detail: str) -> None:
    config = copy.deepcopy(yaml.safe_load(DEFAULT.read_text()))
    change(config)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert re.match(rf"config key {re.escape(key)}: ", message), message
    assert detail in message


def test_parallel_pairs_are_english_centric(default_config: dict) -> None:
    assert parallel_pairs(default_config) == [("en", other) for other in OTHERS]


def test_pairs_follow_the_train_language(default_config: dict) -> None:
    config = copy.deepcopy(default_config)
    config["study"].update(languages=["en", "mid", "isolate"], train_language="mid")
    assert parallel_pairs(config) == [("mid", "en"), ("mid", "isolate")]


def test_model_objectives_in_configured_order(default_config: dict) -> None:
    assert model_objectives(default_config) == [
        ("mbart", objective) for objective in
        ("source", "denoise-cp", "mt-m2m", "mt-o2m", "mt-m2o", "random-init")] + [
        ("xlmr", "source"), ("xlmr", "random-init")]
    assert finetuning_settings(default_config, "nli")["epochs"] == 4
    assert finetuning_settings(default_config, "pos")["epochs"] == 3


def raw_default() -> dict:
    return copy.deepcopy(yaml.safe_load(DEFAULT.read_text()))


def mistakes_of(config: dict) -> list[str]:
    """The lines of the error ``config`` fails with."""
    with pytest.raises(ConfigError) as caught:
        prepare_config(config)
    return str(caught.value).splitlines()


def test_every_schema_mistake_is_reported_at_once_one_line_each() -> None:
    config = raw_default()
    config["study"].update(train_langauge="en", seeds=["a"])
    config["models"]["mbart"]["hidden_size"] = "big"
    assert sorted(mistakes_of(config)) == sorted([
        "config key study.train_langauge: unknown key (did you mean 'train_language'?); allowed here: "
        "['languages', 'models', 'name', 'pretraining_seeds', 'seeds', 'tasks', 'train_language']",
        "config key study.seeds.0: 'a' is not of type 'integer': expected a whole number",
        "config key models.mbart.hidden_size: 'big' is not of type 'integer': expected a whole number"])
    config = raw_default()
    config.update({f"bogus{number}": 1 for number in range(7)})
    lines = mistakes_of(config)
    assert len(lines) == 6 and lines[-1] == "... and 2 more"
    assert all(line.startswith("config key bogus") for line in lines[:5])


def test_a_misspelt_name_gets_its_form_in_words_and_the_defined_name_it_is_closest_to() -> None:
    config = raw_default()
    config["study"]["models"] = ["mbart", "xlm-r"]
    assert mistakes_of(config) == [
        "config key study.models.1: 'xlm-r' does not match the form of a name: lowercase letters and digits "
        "only, starting with a letter (did you mean 'xlmr'?)"]
    config["study"]["models"] = ["mbart", "xlm"]
    assert mistakes_of(config) == [
        "config key study.models: unknown name(s) ['xlm']; defined in models: ['mbart', 'xlmr'] "
        "(did you mean 'xlmr'?)"]
    config = raw_default()
    config["study"]["tasks"] = ["nli", "topik"]
    assert mistakes_of(config)[0].endswith("(did you mean 'topic'?)")


def schema_patterns(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for child in node.values():
            yield from schema_patterns(child)
    elif isinstance(node, list):
        for child in node:
            yield from schema_patterns(child)


def test_every_pattern_of_the_schema_is_said_in_words() -> None:
    patterns = set(schema_patterns(yaml.safe_load(SCHEMA.read_text())))
    assert patterns and patterns <= set(PATTERN_WORDS), patterns - set(PATTERN_WORDS)


def test_numbers_yaml_reads_as_text_are_numbers(tmp_path: Path) -> None:
    text = DEFAULT.read_text().replace("learning_rate: 0.001", "learning_rate: 5e-4")
    text = text.replace("defaults: {epochs: 3,", "defaults: {epochs: 1e1,")
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert yaml.safe_load(text)["finetuning"]["defaults"]["learning_rate"] == "5e-4"  # YAML 1.1
    defaults = load_config(path)["finetuning"]["defaults"]
    assert defaults["learning_rate"] == 0.0005 and defaults["epochs"] == 10
    assert isinstance(defaults["epochs"], int)
    config = raw_default()
    config["continued_pretraining"]["learning_rate"] = "+1.5e-3"
    config["finetuning"]["defaults"].update(learning_rate="fast", epochs="2.5")
    assert sorted(mistakes_of(config)) == [
        "config key finetuning.defaults.epochs: '2.5' is not of type 'integer': expected a whole number",
        "config key finetuning.defaults.learning_rate: 'fast' is not of type 'number': expected a number"]
    assert config["continued_pretraining"]["learning_rate"] == 0.0015


def test_command_line_overrides_mean_what_they_would_in_the_config_file() -> None:
    # Snakemake reads `--config study={seeds: [1, 2]}` with YAML's BaseLoader: every scalar a string
    assert typed_overrides({"study": {"seeds": ["1", "2"], "name": "micro", "models": "[mbart]"},
                            "warm_workers": "false", "threads": 2}) == {
        "study": {"seeds": [1, 2], "name": "micro", "models": ["mbart"]}, "warm_workers": False, "threads": 2}
    config = raw_default()
    prepare_config(config, overrides={"study": {"seeds": ["1", "2"]},
                                      "finetuning": {"defaults": {"learning_rate": "5e-4"}}})
    assert config["study"]["seeds"] == [1, 2] and config["study"]["models"] == ["mbart", "xlmr"]
    assert config["finetuning"]["defaults"]["learning_rate"] == 0.0005
    assert config["finetuning"]["defaults"]["epochs"] == 3  # merged, not replaced


def test_definitions_the_grid_does_not_use_are_allowed_but_not_misspelt() -> None:
    config = raw_default()
    config["study"].update(tasks=["nli", "topic"], models=["xlmr"], languages=["en", "close"])
    prepare_config(config)  # settings for pos, ner, paraphrase; family mbart; languages mid, distant, ...
    assert set(config["finetuning"]["tasks"]) == {"nli", "paraphrase", "topic", "pos", "ner"}
    config = raw_default()
    config["finetuning"]["tasks"]["nlii"] = {}
    assert mistakes_of(config) == [
        "config key finetuning.tasks.nlii: unknown key (did you mean 'nli'?); allowed here: "
        "['nli', 'paraphrase', 'topic', 'pos', 'ner', 'nc', 'xnli', 'pawsx', 'qadsm', 'wpr', 'qam']"]


def test_in_the_snakefile_a_config_error_ends_the_run_with_its_lines_only() -> None:
    config = raw_default()
    config["bogus"] = 1
    with pytest.raises(SystemExit) as caught:
        prepare_config(config, exit_on_error=True)
    assert str(caught.value.code).startswith("config key bogus: unknown key")


@pytest.mark.workflow
def test_snakemake_shows_config_errors_without_traceback_and_types_its_overrides(tmp_path: Path) -> None:
    workdir = copy_workflow(tmp_path / "workflow")
    bad = DEFAULT.read_text().replace("train_language: en", "train_langauge: en")
    (workdir / "bad.yaml").write_text(bad.replace("learning_rate: 0.001", "learning_rate: fast"))
    offline = environment(HF_HUB_OFFLINE="1")

    def dry_run(*arguments: str) -> subprocess.CompletedProcess:
        return snakemake(workdir, "-n", "--cores", "1", *arguments, env=offline, timeout=300)

    failed = dry_run("--configfile", "bad.yaml")
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1, output
    assert "config key study.train_langauge: unknown key (did you mean 'train_language'?)" in output
    assert "config key finetuning.defaults.learning_rate: 'fast' is not of type 'number'" in output
    assert 'File "' not in output and "Error" not in output, output
    typed = dry_run("--config", "study={seeds: [1, 2]}", "finetuning={defaults: {learning_rate: 5e-4}}")
    assert typed.returncode == 0, (typed.stdout + typed.stderr)[-3000:]


# --- issue #15: the new objectives, resource levels ----------------------------------------------


def test_every_known_objective_has_a_table_row_and_a_schema_entry() -> None:
    from mtbridge.config import KNOWN_OBJECTIVES, OBJECTIVE_ORDER, load_schema

    assert sorted(OBJECTIVE_ORDER) == sorted(KNOWN_OBJECTIVES)
    schema = load_schema(str(SCHEMA))
    assert schema["$defs"]["model"]["properties"]["objectives"]["items"]["enum"] == list(OBJECTIVE_ORDER)
    assert OBJECTIVE_ORDER.index("mt-m2o") + 1 == OBJECTIVE_ORDER.index("mt-m2o+source-spectrum")


def test_extended_study_is_the_default_plus_issue_15() -> None:
    default, extended = load_config(DEFAULT), load_config(ROOT / "configs" / "extended.yaml")
    assert extended["study"]["name"] == "extended"
    assert {key: value for key, value in extended["study"].items() if key != "name"} == {
        key: value for key, value in default["study"].items() if key != "name"}
    for model in ("mbart", "xlmr"):
        assert set(default["models"][model]["objectives"]) < set(extended["models"][model]["objectives"])
    assert extended["world"]["languages"]["distant"]["resource"] == "low"


def test_a_tasks_own_train_size_changes_only_its_train_split() -> None:
    from mtbridge.config import task_split_world

    config = load_config(MICRO)
    config["world"]["sizes"]["train"] = 320
    config["world"]["train_sizes"] = {"nli": 5000}
    assert task_split_world(config, "nli", "train", "en")["sizes"] == {"train": 5000}
    assert task_split_world(config, "topic", "train", "en")["sizes"] == {"train": 320}
    dev = task_split_world(config, "nli", "dev", "en")
    assert dev["sizes"] == {"dev": config["world"]["sizes"]["dev"]} and "train_sizes" not in dev
    without = copy.deepcopy(config)
    del without["world"]["train_sizes"]
    topic = task_split_world(config, "topic", "train", "en")
    assert task_split_world(without, "topic", "train", "en") == topic  # no rerun for the other tasks


def test_train_sizes_name_synthetic_tasks_with_positive_counts() -> None:
    for bad in ({"nil": 100}, {"nli": 0}):
        config = load_config(MICRO)
        config["world"]["train_sizes"] = bad
        with pytest.raises(ConfigError, match="train_sizes"):
            prepare_config(config)


def test_resource_levels_scale_only_the_data_jobs_sizes() -> None:
    from mtbridge.config import pair_parallel_settings, world_slice

    config = load_config(MICRO)  # isolate: low, a quarter of the text
    sizes = config["world"]["sizes"]
    corpus = world_slice(config, ["isolate"], ("monolingual", "evaluation"), scaled=True)
    assert corpus["sizes"] == {"monolingual": sizes["monolingual"] // 4, "evaluation": sizes["evaluation"]}
    assert "resource" not in corpus["languages"]["isolate"] and "resource_levels" not in corpus
    assert world_slice(config, ["en", "isolate"], ("parallel",), scaled=True)["sizes"]["parallel"] == 50
    assert world_slice(config, ["en", "close"], ("parallel",), scaled=True)["sizes"]["parallel"] == 200
    unscaled = world_slice(config, ["en", "isolate"], ("parallel", "parallel_test"))  # the held-out test set
    assert unscaled["sizes"]["parallel"] == sizes["parallel"]
    paper = load_config(ROOT / "configs" / "paper.yaml")
    assert pair_parallel_settings(paper, "en", "de") == paper["parallel"]
    paper["parallel"].update(resource_levels={"low": 0.1}, resources={"de": "low"})
    assert pair_parallel_settings(paper, "en", "de")["max_pairs"] == paper["parallel"]["max_pairs"] // 10
    assert pair_parallel_settings(paper, "en", "fr")["max_pairs"] == paper["parallel"]["max_pairs"]
    assert "resources" not in pair_parallel_settings(paper, "en", "fr")
