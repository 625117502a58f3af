"""The study configuration: shipped configs load, defaults are filled, mistakes name their key."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import MICRO, ROOT

from mtbridge.config import (
    ConfigError,
    finetuning_settings,
    load_config,
    model_objectives,
    parallel_pairs,
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
    (set_key("study.tasks", ["nli", "pos"]), "finetuning.tasks",
     "settings for ['ner', 'paraphrase', 'topic']"),
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
