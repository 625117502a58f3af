"""configs/paper.yaml: it loads, and each mistake is one line naming its key (hub references, objectives,
families, XGLUE and evaluation settings, language fallbacks and shared tags)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from paper_fixtures import PAPER, StandIns, change, one_line

from mtbridge.config import CONTINUED_OBJECTIVES, ConfigError, load_config
from mtbridge.corpora import write_parallel_corpus
from mtbridge.pretraining import continue_pretraining


def test_paper_config_loads(paper_raw: dict) -> None:
    config = load_config(PAPER)
    assert config["study"]["models"] == ["mbart50", "mbart50cp", "xlmr", "mbert"]
    assert config["xglue"]["source"] == "hub" and config["evaluation"]["source"] == "flores"
    families = {name: spec["architecture"] for name, spec in config["models"].items()}
    assert families == {"mbart50": "mbart", "mbart50cp": "mbart", "xlmr": "xlm-roberta",
                        "xlmrlarge": "xlm-roberta", "mbert": "bert", "nllb": "nllb"}
    assert set(config["models"]["mbart50"]["hub"]) == {"source", "mt-o2m", "mt-m2o", "mt-m2m"}
    assert set(config["models"]["mbart50cp"]["hub"]) == {"source"}
    assert set(config["models"]["mbart50cp"]["objectives"]) == {"source", "random-init",
                                                                 *CONTINUED_OBJECTIVES}
    assert config["parallel"]["split"] == "train" and config["models"]["nllb"]["trust_remote_code"] is False
    # optional families load too
    study = {**paper_raw["study"], "models": [*paper_raw["study"]["models"], "xlmrlarge", "nllb"]}
    assert load_config(PAPER, {"study": study})["study"]["models"][-1] == "nllb"


PAPER_MISTAKES = [  # (change, the start of the one-line message)
    (change("models.mbart50.hub.source", {"revision": "main"}),
     "config key models.mbart50.hub.source: expected one of the forms {id, revision} or {path}"),
    (change("models.mbart50.hub.source", {"id": "facebook/mbart-large-50"}),
     "config key models.mbart50.hub.source: expected one of the forms"),
    (change("models.mbart50.hub.source", {"id": "facebook/mbart-large-50", "revision": "main", "path": "/m"}),
     "config key models.mbart50.hub.source: expected one of the forms"),
    (change("parallel.hub", {"path": ""}), "config key parallel.hub: expected one of the forms"),
    (change("models.xlmr.hub.mt-m2m", {"id": "facebook/mbart-large-50-many-to-many-mmt", "revision": "main"}),
     "config key models.xlmr.hub: ['mt-m2m'] are not in models.xlmr.objectives"),
    (change("models.xlmr.objectives", ["source", "mt-m2m"]),
     "config key models.xlmr.objectives: ['mt-m2m'] need a seq2seq architecture"),
    (change("models.mbart50cp.hub", {}),
     "config key models.mbart50cp.hub.source: the XGLUE study takes 'source'"),
    (change("world", {"topics": ["a", "b"], "sizes": {"monolingual": 1, "parallel": 1, "evaluation": 1,
                                                      "train": 1, "dev": 1, "test": 1},
                      "languages": {"en": {"word_order": "SVO", "cognate_share": 1.0}}}),
     "config: give exactly one of `world` (the synthetic study) and `xglue`"),
    (change("xglue", delete=True), "config: give exactly one of `world`"),
    (change("models.mbart50.language_fallback.ja", "zh"),
     "config key models.mbart50.language_fallback: ['ja'] are not in study.languages"),
    (change("xglue.source", "release"), "config key xglue.release: required when xglue.source is 'release'"),
    (change("evaluation.hub", delete=True), "config key evaluation.hub: required when evaluation.source is"),
    (change("evaluation", delete=True), "config key evaluation: required by the XGLUE study"),
    (change("tokenizer", {"vocab_size": 300}), "config key tokenizer: not used by the XGLUE study"),
    (change("study.tasks", ["ner", "topic"]), "config key study.tasks: ['topic'] are not XGLUE tasks"),
    (change("study.tasks", ["ner", "mlqa"]), "config key study.tasks.1: 'mlqa' is not one of"),
    (change("models.mbert.architecture", "gpt2"),
     "config key models.mbert.architecture: 'gpt2' is not one of"),
    (change("evaluation.codes.zh", "zh"), "config key evaluation.codes.zh: 'zh' does not match"),
    (change("parallel.languages", ["ar", "el", "de"]),
     "config key models.mbart50cp.language_fallback: ['en', 'el'] share the language tag of 'en', but "
     "continued pretraining ['denoise-cp', 'mt-m2m', 'mt-o2m', 'mt-m2o'] reads them all"),
    (change("parallel.languages", ["bg", "de", "ru"]),
     "config key models.mbart50cp.language_fallback: ['bg', 'ru'] share the language tag of 'ru'"),
]


@pytest.mark.parametrize(("mistake", "message"), PAPER_MISTAKES, ids=[m for _, m in PAPER_MISTAKES])
def test_paper_config_mistakes_are_one_line_naming_the_key(paper_raw: dict, tmp_path: Path, mistake,
                                                           message: str) -> None:
    config = copy.deepcopy(paper_raw)
    mistake(config)
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert one_line(error).startswith(message), str(error.value)


def test_a_fallback_may_name_a_language_of_the_parallel_corpus_only(paper_raw: dict, tmp_path: Path) -> None:
    raw = copy.deepcopy(paper_raw)
    raw["study"]["languages"] = ["en", "de", "fr"]
    raw["parallel"]["languages"] = ["de", "bg"]  # bg: parallel corpus only, no mBART-50 code
    raw["models"]["mbart50"]["language_fallback"] = {}
    raw["models"]["mbart50cp"]["language_fallback"] = {"bg": "ru"}
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert load_config(path)["models"]["mbart50cp"]["language_fallback"] == {"bg": "ru"}


def test_continued_pretraining_needs_a_code_for_every_parallel_language(standins: StandIns,
                                                                        tmp_path: Path) -> None:
    """Why a parallel-only language needs a fallback: the job frames it (and fails without one)."""
    write_parallel_corpus(ref={"path": str(standins.root / "opus")}, key="parallel.hub", source="en",
                          target="bg", split="train", max_pairs=2, path=str(tmp_path / "en-bg.parquet"))
    arguments = dict(objective="mt-o2m", languages=["en", "de", "bg"], train_language="en",
                     settings={"tokens": 20, "batch_size": 2, "learning_rate": 0.001, "warmup_ratio": 0.0},
                     source_dir=str(standins.checkpoints["mbart"]),
                     corpus_paths=[str(tmp_path / "en-bg.parquet")], seed=1, threads=1,
                     device={"accelerator": "cpu"})
    spec = {"architecture": "mbart", "max_length": 32, "language_fallback": {}}
    with pytest.raises(ValueError, match="language 'bg' has no code in this tokenizer"):
        continue_pretraining(spec=spec, output_dir=str(tmp_path / "failed"), **arguments)
    assert not (tmp_path / "failed").exists()
    continue_pretraining(spec={**spec, "language_fallback": {"bg": "ru"}}, output_dir=str(tmp_path / "mt"),
                         **arguments)
    assert json.loads((tmp_path / "mt" / "training.json").read_text())["objective"] == "mt-o2m"
