"""The paper-scale study offline: hub checkpoints and datasets from {path} or the local Hugging Face
cache, language codes, configs/paper.yaml's checks and DAG, and a paper-shaped run end to end.

Everything external is a stand-in from tests/paper_fixtures.py (tiny random-weight checkpoints with
the real tokenizer classes, OPUS-100 and FLORES+ layouts, a fake cache entry, the XGLUE release).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from conftest import copy_checkout, copy_workflow
from paper_fixtures import (
    ARCHITECTURES,
    LANGUAGES,
    SENTENCES,
    WIDTH,
    build_tokenizer,
    cache_folder,
    cache_repository,
    fixture_texts,
    write_checkpoint,
    write_flores,
    write_opus,
    write_xglue_release,
)
from test_xglue import expected_rows, write_hub

from mtbridge import hub, paths
from mtbridge.analysis import write_spectra
from mtbridge.config import (
    CONTINUED_OBJECTIVES,
    SEQ2SEQ_ARCHITECTURES,
    ConfigError,
    load_config,
    task_definition,
)
from mtbridge.corpora import write_evaluation_set, write_parallel_corpus
from mtbridge.io import write_parquet
from mtbridge.models import MODEL_TYPES, fetch_checkpoint, load_encoder, load_pretrained
from mtbridge.pretraining import continue_pretraining, random_init
from mtbridge.representations import dump_activations, open_dump
from mtbridge.splits import read_task_split
from mtbridge.tasks import CLASSIFICATION_SCHEMA, task_baselines
from mtbridge.tokenizer import NLLB_CODES, framing, language_code, language_codes, load_tokenizer
from mtbridge.xglue import HUB_MISSING, XGLUE_LANGUAGES, write_xglue_split, xglue_task_spec

ROOT = Path(__file__).resolve().parent.parent
PAPER = ROOT / "configs" / "paper.yaml"
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
KEY = "models.family.hub.source"
PARALLEL_ID, FLORES_ID = "fixture/opus-100", "fixture/flores_plus"
MMT_ID = "fixture/mbart-mmt-standin"  # another mBART stand-in (other weights, same tokenizer)
XGLUE_ID, XGLUE_REVISION = "fixture/xglue", "refs/convert/parquet"  # as configs/paper.yaml pins it


def repo_id(architecture: str) -> str:
    return f"fixture/{architecture}-standin"


@dataclass(frozen=True)
class StandIns:
    """Where the stand-ins are: checkpoint folders, the fake HF_HOME and the commits cached there."""

    root: Path
    hf_home: Path
    checkpoints: dict[str, Path]
    commits: dict[str, str]  # repository id -> commit


@pytest.fixture(scope="module")
def standins(tmp_path_factory: pytest.TempPathFactory) -> StandIns:
    root = tmp_path_factory.mktemp("paper")
    hf_home = root / "hf_home"
    checkpoints = {architecture: write_checkpoint(architecture, root / "models" / architecture, seed=index)
                   for index, architecture in enumerate(ARCHITECTURES)}
    commits = {repo_id(architecture): cache_repository(hf_home, repo_id(architecture), folder)
               for architecture, folder in checkpoints.items()}
    mmt = write_checkpoint("mbart", root / "models" / "mmt", seed=7)
    commits[MMT_ID] = cache_repository(hf_home, MMT_ID, mmt)
    commits[PARALLEL_ID] = cache_repository(hf_home, PARALLEL_ID, write_opus(root / "opus", ["de", "bg"]),
                                            repo_type="dataset")
    commits[FLORES_ID] = cache_repository(hf_home, FLORES_ID, write_flores(root / "flores", LANGUAGES),
                                          repo_type="dataset")
    commits[XGLUE_ID] = cache_repository(hf_home, XGLUE_ID, write_hub(root / "xglue_hub"),
                                         repo_type="dataset", branch=XGLUE_REVISION)
    return StandIns(root, hf_home, checkpoints, commits)


@pytest.fixture
def offline_cache(standins: StandIns, monkeypatch: pytest.MonkeyPatch):
    """This process reads the fake cache only: HF_HUB_OFFLINE set, HF_HOME and the hub cache there."""
    import huggingface_hub.constants

    for name, value in OFFLINE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HF_HOME", str(standins.hf_home))
    monkeypatch.setenv("HF_HUB_CACHE", str(standins.hf_home / "hub"))  # read at import: patched below too
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(standins.hf_home / "hub"))
    hub.hub_offline.cache_clear()
    yield standins
    hub.hub_offline.cache_clear()


def encoder_state(directory: Path) -> dict[str, torch.Tensor]:
    return load_encoder(directory).state_dict()


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    return message


# --- checkpoints and datasets from {path} or the cache ------------------------------------------


def check_fetched(output: Path, standin: Path, architecture: str) -> dict:
    """The fetched folder reloads as an encoder with the stand-in's weights and its tokenizer."""
    encoder = load_encoder(output)
    assert encoder.config.model_type == MODEL_TYPES[architecture]
    assert encoder.config.hidden_size == WIDTH
    expected = encoder_state(standin)
    assert {name: value.shape for name, value in encoder.state_dict().items()} == {
        name: value.shape for name, value in expected.items()}
    assert all(torch.equal(value, expected[name]) for name, value in encoder.state_dict().items())
    tokenizer = load_tokenizer(output)
    assert len(tokenizer) == len(build_tokenizer(architecture, fixture_texts()))
    ids = tokenizer(SENTENCES["bg"][0], add_special_tokens=False)["input_ids"]
    assert ids and tokenizer.unk_token_id not in ids
    assert not list(output.glob("*.bin"))
    return json.loads((output / "training.json").read_text())


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_fetch_checkpoint_from_a_local_path(standins: StandIns, tmp_path: Path, architecture: str) -> None:
    output = tmp_path / "fetched"
    fetch_checkpoint(ref={"path": str(standins.checkpoints[architecture])}, key=KEY,
                     architecture=architecture, output_dir=str(output))
    record = check_fetched(output, standins.checkpoints[architecture], architecture)
    assert record == {"objective": "hub", "path": str(standins.checkpoints[architecture]),
                      "resolved_revision": "local"}


@pytest.mark.parametrize("revision", ["commit", "main"])
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_fetch_checkpoint_from_the_offline_cache(offline_cache: StandIns, tmp_path: Path, architecture: str,
                                                 revision: str) -> None:
    commit = offline_cache.commits[repo_id(architecture)]
    ref = {"id": repo_id(architecture), "revision": commit if revision == "commit" else "main"}
    output = tmp_path / "fetched"
    fetch_checkpoint(ref=ref, key=KEY, architecture=architecture, output_dir=str(output))
    record = check_fetched(output, offline_cache.checkpoints[architecture], architecture)
    assert record == {"objective": "hub", **ref, "resolved_revision": commit}


def test_architecture_mismatch_is_one_line_and_writes_nothing(standins: StandIns, tmp_path: Path) -> None:
    output = tmp_path / "fetched"
    with pytest.raises(ValueError) as error:
        fetch_checkpoint(ref={"path": str(standins.checkpoints["bert"])}, key=KEY, architecture="mbart",
                         output_dir=str(output))
    assert one_line(error) == (f"config key {KEY}: {standins.checkpoints['bert']} is a 'bert' checkpoint, "
                               f"but the family's architecture 'mbart' expects 'mbart'")
    assert not output.exists()
    with pytest.raises(ValueError, match="is a 'm2m_100' checkpoint, but the family's architecture 'mbart'"):
        fetch_checkpoint(ref={"path": str(standins.checkpoints["nllb"])}, key=KEY, architecture="mbart",
                         output_dir=str(output))


def test_a_missing_local_path_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as error:
        fetch_checkpoint(ref={"path": str(tmp_path / "nowhere")}, key=KEY, architecture="bert",
                         output_dir=str(tmp_path / "fetched"))
    assert one_line(error).startswith(f"config key {KEY}.path: {tmp_path / 'nowhere'} is not a directory")
    assert not (tmp_path / "fetched").exists()


def test_an_uncached_model_is_one_line_offline(offline_cache: StandIns, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / "fetched"
    connections: list = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: connections.append(address))
    with pytest.raises(hub.HubUnavailable) as error:
        fetch_checkpoint(ref={"id": "nobody/missing-model", "revision": "main"}, key=KEY,
                         architecture="mbart", output_dir=str(output))
    assert not connections  # offline: no connection attempted, so no retries to wait for
    message = one_line(error)
    assert message.startswith(f"config key {KEY}: model nobody/missing-model@main is not (completely) in "
                              "the local Hugging Face cache")
    assert "HF_HUB_OFFLINE" in message and "hf download nobody/missing-model --revision main`" in message
    assert not output.exists()


def test_an_uncached_commit_of_a_cached_model_is_one_line(offline_cache: StandIns, tmp_path: Path) -> None:
    ref = {"id": repo_id("mbart"), "revision": "0" * 40}
    with pytest.raises(hub.HubUnavailable, match=f"config key {KEY}: model {repo_id('mbart')}@0{{40}} "):
        fetch_checkpoint(ref=ref, key=KEY, architecture="mbart", output_dir=str(tmp_path / "fetched"))
    assert not (tmp_path / "fetched").exists()


def test_an_uncached_dataset_is_one_line_offline(offline_cache: StandIns, tmp_path: Path) -> None:
    path = tmp_path / "parallel" / "en-de.parquet"
    with pytest.raises(hub.HubUnavailable) as error:
        write_parallel_corpus(ref={"id": "nobody/missing-opus", "revision": "main"}, key="parallel.hub",
                              source="en", target="de", split="train", max_pairs=10, path=str(path))
    message = one_line(error)
    assert message.startswith("config key parallel.hub: dataset nobody/missing-opus@main is not "
                              "(completely) in the local Hugging Face cache")
    assert "--repo-type dataset`" in message and "set parallel.hub to {path: <local copy>}" in message
    assert not path.exists() and not path.parent.exists()
    evaluation = {"source": "flores", "hub": {"id": "nobody/missing-flores", "revision": "main"},
                  "split": "devtest", "codes": {}, "max_sentences": 4}
    with pytest.raises(hub.HubUnavailable, match="^config key evaluation.hub: dataset nobody/missing-flores"):
        write_evaluation_set(evaluation=evaluation, language="de", path=str(tmp_path / "de.parquet"))
    assert not (tmp_path / "de.parquet").exists()


@pytest.mark.parametrize("target", ["de", "bg"])
def test_parallel_corpus_from_the_cached_opus_layout(offline_cache: StandIns, tmp_path: Path,
                                                     target: str) -> None:
    ref = {"id": PARALLEL_ID, "revision": offline_cache.commits[PARALLEL_ID]}
    path = tmp_path / f"en-{target}.parquet"
    write_parallel_corpus(ref=ref, key="parallel.hub", source="en", target=target, split="train",
                          max_pairs=100, path=str(path))
    rows = pq.read_table(path).to_pylist()
    config = "-".join(sorted(("en", target)))
    assert rows == [{"id": f"{config}-train-{index}", "source_language": "en", "target_language": target,
                     "source": english, "target": translation}
                    for index, (english, translation) in enumerate(zip(SENTENCES["en"], SENTENCES[target],
                                                                       strict=True))]
    write_parallel_corpus(ref={"path": str(offline_cache.root / "opus")}, key="parallel.hub", source=target,
                          target="en", split="train", max_pairs=2, path=str(tmp_path / "local.parquet"))
    local = pq.read_table(tmp_path / "local.parquet").to_pylist()
    assert [(row["source"], row["target"]) for row in local] == list(zip(SENTENCES[target][:2],
                                                                         SENTENCES["en"][:2], strict=True))


def test_flores_sentences_from_the_cached_layout_align_across_languages(offline_cache: StandIns,
                                                                        tmp_path: Path) -> None:
    evaluation = {"source": "flores", "hub": {"id": FLORES_ID, "revision": "main"}, "split": "devtest",
                  "codes": {}, "max_sentences": 4}
    tables = {}
    for language in LANGUAGES:
        path = tmp_path / f"{language}.parquet"
        write_evaluation_set(evaluation=evaluation, language=language, path=str(path))
        tables[language] = pq.read_table(path).to_pylist()
        assert [row["text"] for row in tables[language]] == SENTENCES[language][:4]
        assert {row["language"] for row in tables[language]} == {language}
    assert len({tuple(row["id"] for row in rows) for rows in tables.values()}) == 1
    assert tables["en"][0]["id"] == "flores-devtest-0"
    wrong = {**evaluation, "codes": {"bg": "bul_Latn"}}  # a code the snapshot lacks
    with pytest.raises(FileNotFoundError, match="no Parquet files for config 'devtest' split 'bul_Latn'"):
        write_evaluation_set(evaluation=wrong, language="bg", path=str(tmp_path / "x.parquet"))


def write_xnli_test(path: Path, language: str, premises: list[str]) -> str:
    """An XNLI test split: each premise with its three hypotheses, in a row, as XGLUE stores them."""
    labels = ("entailment", "neutral", "contradiction")
    rows = [{"id": f"xnli-test-{language}-{index}", "language": language, "text_a": premise,
             "text_b": f"hypothesis {index}", "label": labels[index % 3]}
            for index, premise in enumerate(premise for premise in premises for _ in labels)]
    write_parquet(rows, path, CLASSIFICATION_SCHEMA)
    return str(path)


XNLI = {"source": "xnli", "max_sentences": 10}


def write_xnli_evaluation(tmp_path: Path, language: str, test: str, reference: str) -> list[dict]:
    path = tmp_path / f"{language}.parquet"
    write_evaluation_set(evaluation=XNLI, language=language, path=str(path), test_path=test,
                         reference_path=reference)
    return pq.read_table(path).to_pylist()


def test_xnli_premises_are_keyed_by_the_english_row_they_start_at(tmp_path: Path) -> None:
    english = write_xnli_test(tmp_path / "en-test.parquet", "en", ["A", "B", "C"])
    german = write_xnli_test(tmp_path / "de-test.parquet", "de", ["a", "b", "c"])
    rows = tmp_path / "de-split.parquet"  # one premise worded two ways in its own rows: still aligned
    table = pq.read_table(german).to_pylist()
    table[4]["text_a"] = "b, anders"
    write_parquet(table, rows, CLASSIFICATION_SCHEMA)
    en = write_xnli_evaluation(tmp_path, "en", english, english)
    de = write_xnli_evaluation(tmp_path, "de", str(rows), english)
    assert [row["id"] for row in de] == [row["id"] for row in en] == [f"xnli-test-{row}" for row in (0, 3, 6)]
    assert [row["text"] for row in de] == ["a", "b", "c"]


@pytest.mark.parametrize("shift", ["dropped", "merged"])
def test_a_misaligned_xnli_file_fails_naming_it(tmp_path: Path, shift: str) -> None:
    english = write_xnli_test(tmp_path / "en-test.parquet", "en", ["A", "B", "C", "D"])
    premises = ["a", "b", "c", "d"] if shift == "dropped" else ["a", "a", "c", "d"]
    german = write_xnli_test(tmp_path / "de-test.parquet", "de", premises)
    if shift == "dropped":  # the first row lost, the rest shifted up by one, the count kept
        table = pq.read_table(german).to_pylist()
        write_parquet(table[1:] + table[-1:], german, CLASSIFICATION_SCHEMA)
    with pytest.raises(ValueError) as error:
        write_xnli_evaluation(tmp_path, "de", german, english)
    assert one_line(error).startswith(f"{german}: XNLI test premises not aligned with {english}")
    assert not (tmp_path / "de.parquet").exists()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_random_init_of_a_hub_family_keeps_architecture_and_tokenizer(standins: StandIns, tmp_path: Path,
                                                                       architecture: str) -> None:
    source = standins.checkpoints[architecture]
    random_init(spec={"architecture": architecture}, tokenizer_dir=str(source),
                output_dir=str(tmp_path / "random"), seed=5, threads=1)
    fresh, trained = encoder_state(tmp_path / "random"), encoder_state(source)
    assert {name: value.shape for name, value in fresh.items()} == {
        name: value.shape for name, value in trained.items()}
    assert not all(torch.equal(value, trained[name]) for name, value in fresh.items())
    assert len(load_tokenizer(tmp_path / "random")) == len(load_tokenizer(source))


def test_an_nllb_family_trains_dumps_and_has_spectra(standins: StandIns, tmp_path: Path) -> None:
    """NLLB is optional in configs/paper.yaml and not in the end-to-end run: its jobs, in process."""
    spec = {"architecture": "nllb", "max_length": 32, "language_fallback": {}}
    write_parallel_corpus(ref={"path": str(standins.root / "opus")}, key="parallel.hub", source="en",
                          target="bg", split="train", max_pairs=4, path=str(tmp_path / "en-bg.parquet"))
    continue_pretraining(spec=spec, objective="mt-m2m", languages=list(LANGUAGES), train_language="en",
                         settings={"tokens": 20, "batch_size": 2, "learning_rate": 0.001,
                                   "warmup_ratio": 0.0},
                         source_dir=str(standins.checkpoints["nllb"]),
                         corpus_paths=[str(tmp_path / "en-bg.parquet")], output_dir=str(tmp_path / "mt"),
                         seed=1, threads=1, device={"accelerator": "cpu"})
    evaluation = {"source": "flores", "hub": {"path": str(standins.root / "flores")}, "split": "devtest",
                  "codes": {}, "max_sentences": 6}
    write_evaluation_set(evaluation=evaluation, language="bg", path=str(tmp_path / "bg.parquet"))
    dump_activations(spec=spec, languages=list(LANGUAGES), language="bg",
                     checkpoint_dir=str(tmp_path / "mt"), evaluation_path=str(tmp_path / "bg.parquet"),
                     output_path=str(tmp_path / "bg.safetensors"), pooling="mean", batch_size=4,
                     precision="float32", threads=1, meta={"model": "nllb"}, device={"accelerator": "cpu"})
    dump = open_dump(tmp_path / "bg.safetensors")
    assert dump.layers == ["embeddings", "layer_1"] and dump.layer("layer_1").shape == (6, WIDTH)
    write_spectra(checkpoint_dir=str(tmp_path / "mt"), output_path=str(tmp_path / "spectra.parquet"),
                  model="nllb", objective="mt-m2m")
    assert {"encoder", "decoder"} <= set(pd.read_parquet(tmp_path / "spectra.parquet")["stack"])


@pytest.mark.parametrize(("task", "split", "language"), [("ner", "test", "de"), ("pawsx", "train", "en"),
                                                       ("wpr", "dev", "de"), ("xnli", "test", "de")])
def test_xglue_splits_from_the_cached_parquet_conversion(offline_cache: StandIns, tmp_path: Path, task: str,
                                                         split: str, language: str) -> None:
    xglue = {"source": "hub", "hub": {"id": XGLUE_ID, "revision": XGLUE_REVISION}, "max_examples": {}}
    path = tmp_path / f"{task}.parquet"
    write_xglue_split(xglue=xglue, task=task, split=split, language=language, path=str(path))
    rows = read_task_split(path, xglue_task_spec(task).kind).to_pylist()
    assert rows == expected_rows(task, split, language)


# --- language codes ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mbart_tokenizer():
    return build_tokenizer("mbart", fixture_texts())


def test_mbart50_language_codes(mbart_tokenizer) -> None:
    from transformers.models.mbart50.tokenization_mbart50 import FAIRSEQ_LANGUAGE_CODES

    codes = language_codes(mbart_tokenizer)
    assert codes == sorted(FAIRSEQ_LANGUAGE_CODES)
    assert language_code("de", codes) == "de_DE" and language_code("en", codes) == "en_XX"
    assert language_code("zh", codes) == "zh_CN"
    with pytest.raises(ValueError) as error:
        language_code("bg", codes)
    message = one_line(error)
    assert message.startswith("language 'bg' has no code in this tokenizer and no language_fallback")
    assert "`bg: <language whose code to use>`" in message
    assert language_code("bg", codes, {"bg": "ru"}) == "ru_RU"
    frame = framing(mbart_tokenizer, "mbart", LANGUAGES, {"bg": "ru"})
    assert frame.language_ids == {code: mbart_tokenizer.convert_tokens_to_ids(tag) for code, tag in
                                  (("en", "en_XX"), ("de", "de_DE"), ("bg", "ru_RU"))}
    assert frame.open("bg") == [mbart_tokenizer.convert_tokens_to_ids("ru_RU")]
    with pytest.raises(ValueError, match="language 'bg' has no code"):
        framing(mbart_tokenizer, "mbart", LANGUAGES)


def test_nllb_language_codes() -> None:
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    tokenizer = build_tokenizer("nllb", fixture_texts())
    codes = language_codes(tokenizer)
    assert codes == sorted(FAIRSEQ_LANGUAGE_CODES)
    assert [language_code(code, codes) for code in ("en", "de", "bg", "zh")] == [
        "eng_Latn", "deu_Latn", "bul_Cyrl", "zho_Hans"]
    frame = framing(tokenizer, "nllb", LANGUAGES)
    assert frame.seq2seq and frame.language_ids["bg"] == tokenizer.convert_tokens_to_ids("bul_Cyrl")


@pytest.mark.parametrize("architecture", ["xlm-roberta", "bert"])
def test_encoders_need_no_language_codes(architecture: str) -> None:
    tokenizer = build_tokenizer(architecture, fixture_texts())
    frame = framing(tokenizer, architecture, [*LANGUAGES, "xx"])
    assert not frame.seq2seq and frame.language_ids == {}
    assert frame.open("bg") == [tokenizer.cls_token_id]
    assert frame.double_separator == (architecture == "xlm-roberta")


def test_paper_config_languages_resolve_against_the_real_code_tables() -> None:
    from transformers.models.mbart50.tokenization_mbart50 import FAIRSEQ_LANGUAGE_CODES as MBART50
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES as NLLB

    config = load_config(PAPER)
    # a model reads the study languages and, in its own continued pretraining, the parallel ones
    languages = list(dict.fromkeys([*config["study"]["languages"], *config["parallel"]["languages"]]))
    tables = {"mbart": MBART50, "nllb": NLLB}
    for name, spec in config["models"].items():
        if spec["architecture"] not in tables:
            continue
        codes = list(tables[spec["architecture"]])
        fallback = spec["language_fallback"]
        resolved = {language: language_code(language, codes, fallback) for language in languages}
        assert len(set(resolved.values())) >= len(languages) - len(fallback), name
        unresolved = []
        for language in languages:
            try:
                language_code(language, codes)
            except ValueError:
                unresolved.append(language)
        assert unresolved == sorted(fallback, key=languages.index), name  # every fallback is needed
    assert config["models"]["mbart50"]["language_fallback"] == {"bg": "ru", "el": "en"}
    assert (NLLB_CODES["zh"], NLLB_CODES["sw"]) == ("zho_Hans", "swh_Latn")


def test_paper_continued_pretraining_languages_have_distinct_tags() -> None:
    """An MT decoder is told the language to write by its tag alone: two languages of one family's
    continued pretraining must not share one (issue 13: bg: ru and el: en did)."""
    from transformers.models.mbart50.tokenization_mbart50 import FAIRSEQ_LANGUAGE_CODES as MBART50

    config = load_config(PAPER)
    languages = [config["study"]["train_language"], *config["parallel"]["languages"]]
    fallback = config["models"]["mbart50cp"]["language_fallback"]
    tags = [language_code(language, list(MBART50), fallback) for language in languages]
    assert len(set(tags)) == len(tags), dict(zip(languages, tags, strict=True))


def test_shared_tags_are_allowed_where_nothing_is_continued_here(paper_raw: dict, tmp_path: Path) -> None:
    """mbart50's MT checkpoints come from the hub: its fallbacks only tag encoder inputs."""
    raw = copy.deepcopy(paper_raw)
    raw["study"]["models"] = ["mbart50", "xlmr"]
    raw["parallel"]["languages"] = ["bg", "el", "ru"]
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert load_config(path)["models"]["mbart50"]["language_fallback"] == {"bg": "ru", "el": "en"}


def test_every_paper_family_has_a_random_init_floor() -> None:
    config = load_config(PAPER)
    assert [name for name, spec in config["models"].items() if "random-init" not in spec["objectives"]] == []


# --- configs/paper.yaml -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paper_raw() -> dict:
    return yaml.safe_load(PAPER.read_text())


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


def change(path: str, value: object = None, delete: bool = False):
    """A function that sets (or deletes) the dotted key ``path`` of a raw config."""
    def apply(config: dict) -> None:
        *parents, last = path.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        if delete:
            del node[last]
        else:
            node[last] = value
    return apply


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


# --- the paper DAG, offline -------------------------------------------------------------------


def no_network_environment(hf_home: Path) -> dict[str, str]:
    """Offline, an empty cache, and the hub and every proxy pointed at a closed local port."""
    closed = "http://127.0.0.1:9"
    return {**os.environ, **OFFLINE, "HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub"),
            "HF_ENDPOINT": closed, "HTTP_PROXY": closed, "HTTPS_PROXY": closed, "http_proxy": closed,
            "https_proxy": closed, "PYTHONWARNINGS": "ignore"}


def snakemake(workdir: Path, configfile: Path, *arguments: str, environment: dict[str, str],
              timeout: int = 900) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "-s", str(workdir / "Snakefile"), "--configfile",
               str(configfile), *arguments]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=environment,
                          timeout=timeout)


def planned_counts(output: str) -> dict[str, int]:
    """Jobs per rule from the ``Job stats`` table Snakemake prints (the first one)."""
    counts: dict[str, int] = {}
    for line in output.split("Job stats:", 1)[1].splitlines()[3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def expected_jobs(config: dict) -> dict[str, int]:
    """Jobs per rule the study implies, counted from the config alone (nothing built yet)."""
    study, train, models = config["study"], config["study"]["train_language"], config["models"]
    runs = [(model, objective) for model in study["models"] for objective in models[model]["objectives"]]
    hub_runs = [(m, o) for m, o in runs if o in config["models"][m]["hub"]]
    continued = [(m, o) for m, o in runs if o in CONTINUED_OBJECTIVES and (m, o) not in hub_runs]
    source = config["xglue"]["source"]
    task_languages = {task: [language for language in study["languages"] if language in XGLUE_LANGUAGES[task]
                             and not (source == "hub" and language in HUB_MISSING.get(task, ()))]
                      for task in study["tasks"]}
    flores = config["evaluation"]["source"] == "flores"
    analysis_languages = [language for language in study["languages"]
                          if flores or language in XGLUE_LANGUAGES["xnli"]]
    variants = {model: [o for o in config["models"][model]["objectives"] if o != "source"]
                for model in study["models"] if "source" in config["models"][model]["objectives"]}
    seeds = len(study["seeds"])
    # each task: train and dev in the train language, test in each language (xnli test premises are
    # the evaluation sentences when evaluation.source is xnli, and the predictions need them anyway)
    splits = {(task, split, train) for task in study["tasks"] for split in ("train", "dev")}
    splits |= {(task, "test", language) for task in study["tasks"] for language in task_languages[task]}
    if not flores:
        splits |= {("xnli", "test", language) for language in analysis_languages}
    counts = {
        "xglue_release": int(source == "release"),
        "xglue_split": len(splits),
        "hub_parallel_corpus": len(config["parallel"]["languages"]) if continued else 0,
        "evaluation_sentences": len(analysis_languages),
        "fetch_checkpoint": len(hub_runs),
        "continue_pretraining": len(continued),
        "random_init": sum(1 for _, objective in runs if objective == "random-init"),
        "finetune": len(runs) * len(study["tasks"]) * seeds,
        "predict": len(runs) * sum(map(len, task_languages.values())) * seeds,
        "dump_activations": len(runs) * len(analysis_languages),
        "cka_languages": len(runs),
        "cka_models": sum(map(len, variants.values())) * len(analysis_languages),
        "spectra": len(runs),
        "cka_language_figure": len(runs),
        "spectra_figure": len(study["models"]),
        "cka_model_figure": sum(1 for found in variants.values() if found),
        "cka_language_table": 1, "cka_model_table": int(any(variants.values())), "spectra_table": 1,
        "transfer_table": 1, "all": 1,
        "baseline": sum(len(task_baselines(task_definition(config, task))) * len(task_languages[task])
                        for task in study["tasks"]),
        "budget_table": int(bool(continued)),
    }
    seq2seq = [model for model in study["models"] if models[model]["architecture"] in SEQ2SEQ_ARCHITECTURES]
    if flores and seq2seq:  # the translation check: FLORES pairs of en and each X
        others = [language for language in study["languages"] if language != train]
        counts.update(flores_test_set=len(others), copy_scores=len(others), translation_table=1,
                      translation_figure=len(seq2seq),
                      translate=sum(len(models[model]["objectives"]) for model in seq2seq) * len(others))
    return {rule: count for rule, count in counts.items() if count}


PAPER_VARIANTS = [  # (edits of configs/paper.yaml by dotted key)
    pytest.param({}, id="as-shipped"),
    # every family, the release instead of the hub (POS pt comes back), XNLI premises for CKA
    pytest.param({"study.models": ["mbart50", "mbart50cp", "xlmr", "xlmrlarge", "mbert", "nllb"],
                  "models.mbert.objectives": ["source"],  # a family may go without its floor
                  "xglue": {"source": "release",
                            "release": {"path": "/data/xglue_full_dataset.tar.gz", "sha256": "a" * 64}},
                  "evaluation": {"source": "xnli", "max_sentences": 1000}},
                 id="all-families-release-xnli"),
    pytest.param({"study.tasks": ["ner", "wpr"], "finetuning.tasks": {"ner": {"epochs": 5}},
                  "evaluation": {"source": "xnli", "max_sentences": 1000}},
                 id="xnli-evaluation-without-the-xnli-task"),
]


def write_tarball(path: Path) -> Path:
    """A small tar archive standing in for a release the DAG does not unpack."""
    import tarfile

    with tarfile.open(path, "w:gz") as archive:
        archive.add(__file__, arcname="xglue_full_dataset/README")
    return path


@pytest.mark.parametrize("edits", PAPER_VARIANTS)
def test_paper_dag_plans_offline_with_the_expected_jobs(paper_raw: dict, tmp_path: Path,
                                                        edits: dict) -> None:
    workdir = copy_workflow(tmp_path / "workflow")
    raw = copy.deepcopy(paper_raw)
    for key, value in edits.items():
        change(key, value)(raw)
    if raw["xglue"]["source"] == "release":  # the DAG checks it is a tarball (its sha256: the job)
        raw["xglue"]["release"]["path"] = str(write_tarball(tmp_path / "xglue_full_dataset.tar.gz"))
    configfile = workdir / "configs" / "paper.yaml"
    configfile.write_text(yaml.safe_dump(raw, sort_keys=False))
    (tmp_path / "hf_home").mkdir()
    result = snakemake(workdir, Path("configs/paper.yaml"), "-n", "--quiet", "rules",
                       environment=no_network_environment(tmp_path / "hf_home"), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = planned_counts(result.stdout + result.stderr)
    assert counts == expected_jobs(load_config(configfile)), counts
    study = workdir / paths.study_root(raw["study"]["name"])
    assert not (study / "data").exists() and not (study / "checkpoints").exists()
    assert not any((tmp_path / "hf_home").iterdir())  # nothing fetched or cached


# --- a paper-shaped study end to end ----------------------------------------------------------


# in the canonical objective order (config.OBJECTIVE_ORDER): tables list rows that way
E2E_MODELS = {"mbart": ["source", "mt-m2m"], "mbartcp": ["source", "denoise-cp", "mt-o2m"],
              "xlmr": ["source"], "mbert": ["source"]}
E2E_TASKS = ["ner", "xnli", "wpr"]


def e2e_config(standins: StandIns, tarball: Path, sha256: str) -> dict:
    """configs/paper.yaml's structure at the stand-ins' size: hub objectives from {path} and the fake
    cache, the pipeline's own continued pretraining on the cached OPUS layout, FLORES+ for CKA."""
    checkpoint = {architecture: {"path": str(folder)}
                  for architecture, folder in standins.checkpoints.items()}
    cached = {"id": MMT_ID, "revision": standins.commits[MMT_ID]}
    return {
        "seed": 3,
        "study": {"name": "paper-shaped", "models": list(E2E_MODELS), "tasks": E2E_TASKS,
                  "languages": list(LANGUAGES), "train_language": "en", "seeds": [1]},
        "xglue": {"source": "release", "release": {"path": str(tarball), "sha256": sha256},
                  "max_examples": {"train": 3, "dev": 3, "test": 3}},
        "parallel": {"hub": {"id": PARALLEL_ID, "revision": standins.commits[PARALLEL_ID]},
                     "languages": ["de", "bg"], "max_pairs": 4},
        "evaluation": {"source": "flores", "hub": {"id": FLORES_ID, "revision": "main"}, "split": "devtest",
                       "max_sentences": 6},
        "models": {
            "mbart": {"architecture": "mbart", "objectives": E2E_MODELS["mbart"],
                      "hub": {"source": checkpoint["mbart"], "mt-m2m": cached},
                      "language_fallback": {"bg": "ru"}, "max_length": 32},
            "mbartcp": {"architecture": "mbart", "objectives": E2E_MODELS["mbartcp"],
                        "hub": {"source": checkpoint["mbart"]}, "language_fallback": {"bg": "ru"},
                        "max_length": 32, "finetuning": {"batch_size": 2}},
            "xlmr": {"architecture": "xlm-roberta", "objectives": ["source"],
                     "hub": {"source": {"id": repo_id("xlm-roberta"), "revision": "main"}}, "max_length": 32},
            "mbert": {"architecture": "bert", "objectives": ["source"], "hub": {"source": checkpoint["bert"]},
                      "max_length": 32},
        },
        "continued_pretraining": {"tokens": 100, "batch_size": 2, "learning_rate": 0.001},
        "finetuning": {"defaults": {"epochs": 1, "batch_size": 4, "learning_rate": 0.001,
                                    "eval_batch_size": 8},
                       "tasks": {"ner": {"epochs": 1}}},
        "analysis": {"batch_size": 8, "precision": "float32", "top_k": 2},
        "threads": 1,
        "warm_workers": True,
        "device": {"accelerator": "cpu"},
    }


@dataclass(frozen=True)
class PaperRun:
    workdir: Path
    configfile: Path
    config: dict
    environment: dict[str, str]

    @property
    def study(self) -> Path:
        """The study's own root, where its artifacts are."""
        return self.workdir / paths.study_root(self.config["study"]["name"])


@pytest.fixture(scope="module")
def paper_run(standins: StandIns, tmp_path_factory: pytest.TempPathFactory) -> PaperRun:
    root = tmp_path_factory.mktemp("paper_run")
    tarball, sha256 = write_xglue_release(root / "xglue")
    workdir = copy_workflow(root / "workflow")
    configfile = root / "paper-like.yaml"
    configfile.write_text(yaml.safe_dump(e2e_config(standins, tarball, sha256), sort_keys=False))
    environment = {**no_network_environment(standins.hf_home), "HF_DATASETS_CACHE": str(root / "datasets")}
    result = snakemake(workdir, configfile, "--cores", "2", environment=environment)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return PaperRun(workdir, configfile, load_config(configfile), environment)


@pytest.mark.workflow
def test_paper_shaped_run_fills_the_transfer_table(paper_run: PaperRun) -> None:
    config, workdir = paper_run.config, paper_run.study
    table = pd.read_csv(workdir / paths.transfer_table("csv"))
    table = table[table["model"] != "baseline"]  # the surface baselines come first
    assert list(zip(table["model"], table["objective"], strict=True)) == [
        (model, objective) for model, objectives in E2E_MODELS.items() for objective in objectives]
    assert (table["seeds"] == 1).all()
    languages = {"ner": ["en", "de"], "xnli": ["en", "de", "bg"], "wpr": ["en", "de"]}
    for task, expected in languages.items():
        columns = sorted(column for column in table.columns if column.startswith(f"{task}.")
                         and not column.endswith((".std", ".avg", ".ci_low", ".ci_high")))
        assert columns == sorted(f"{task}.{language}" for language in expected), columns
        assert table[columns].notna().all().all() and table[columns].ge(0).all().all()
        for model, objectives in E2E_MODELS.items():
            for objective in objectives:
                for language in expected:
                    path = workdir / paths.metrics(model, objective, 1, task, language, 1)
                    metrics = json.loads(path.read_text())
                    assert metrics["metric"] == ("ndcg" if task == "wpr" else
                                                 "entity_f1" if task == "ner" else "accuracy")
                    assert metrics["language"] == language and 0 <= metrics["score"] <= 1
    wpr = pq.read_table(workdir / paths.predictions("xlmr", "source", 1, "wpr", "de", 1))
    assert wpr.column_names == ["id", "gold", "predicted", "relevance"]
    assert "## wpr (nDCG)" in (workdir / paths.transfer_table("md")).read_text()
    assert set(json.loads((workdir / paths.summary()).read_text())["results"]) == {*E2E_MODELS, "baseline"}
    assert config["study"]["languages"] == list(LANGUAGES)


@pytest.mark.workflow
def test_paper_shaped_run_fetched_and_trained_every_checkpoint(paper_run: PaperRun,
                                                               standins: StandIns) -> None:
    workdir = paper_run.study
    for model, objectives in E2E_MODELS.items():
        hub_objectives = paper_run.config["models"][model]["hub"]
        for objective in objectives:
            folder = workdir / paths.checkpoint(model, objective, 1, objective in hub_objectives)
            record = json.loads((folder / "training.json").read_text())
            assert record["objective"] == ("hub" if objective in hub_objectives else objective), folder
            load_pretrained(folder)
    resolved = {
        (model, objective): json.loads((workdir / paths.checkpoint(model, objective, None, hub=True)
                                        / "training.json")
                                       .read_text())["resolved_revision"]
        for model, objective in (("mbart", "source"), ("mbart", "mt-m2m"), ("xlmr", "source"))}
    assert resolved == {("mbart", "source"): "local", ("mbart", "mt-m2m"): standins.commits[MMT_ID],
                        ("xlmr", "source"): standins.commits[repo_id("xlm-roberta")]}
    continued = json.loads((workdir / paths.checkpoint("mbartcp", "mt-o2m", 1) / "training.json").read_text())
    assert continued["steps"] >= 1 and continued["tokens"] + continued["target_tokens"] >= 100
    corpus = pq.read_table(workdir / paths.parallel_corpus("en", "bg")).to_pylist()
    assert [row["target"] for row in corpus] == SENTENCES["bg"][:4]


@pytest.mark.workflow
def test_paper_shaped_run_has_cka_and_spectra_for_every_family(paper_run: PaperRun) -> None:
    workdir = paper_run.study
    languages = pd.read_csv(workdir / paths.table("cka_languages", "csv"))
    assert set(zip(languages["model"], languages["objective"], strict=True)) == {
        (model, objective) for model, objectives in E2E_MODELS.items() for objective in objectives}
    assert set(languages["language_a"]) | set(languages["language_b"]) == set(LANGUAGES)
    models = pd.read_csv(workdir / paths.table("cka_models", "csv"))
    assert set(zip(models["model"], models["objective"], strict=True)) == {
        ("mbart", "mt-m2m"), ("mbartcp", "mt-o2m"), ("mbartcp", "denoise-cp")}
    assert set(models["language"]) == set(LANGUAGES)
    same_layer = models["layer_index_source"] == models["layer_index_variant"]
    hub_variant = models[(models["model"] == "mbart") & same_layer]
    assert hub_variant["cka"].min() < 0.999  # the MMT stand-in is another checkpoint than the source
    spectra = pd.read_csv(workdir / paths.table("spectra_summary", "csv"))
    assert set(spectra["model"]) == set(E2E_MODELS)
    for model in E2E_MODELS:
        assert (workdir / paths.spectra_figure(model)).read_bytes().startswith(b"\x89PNG")
    bg = pq.read_table(workdir / paths.evaluation_set("bg")).to_pylist()
    assert [row["text"] for row in bg] == SENTENCES["bg"]


def test_fake_cache_looks_like_a_real_download(standins: StandIns) -> None:
    storage = cache_folder(standins.hf_home, repo_id("mbart"))
    commit = standins.commits[repo_id("mbart")]
    assert (storage / "refs" / "main").read_text() == commit and len(commit) == 40
    snapshot = storage / "snapshots" / commit
    assert (snapshot / "config.json").is_symlink()
    assert (snapshot / "model.safetensors").resolve().parent.name == "blobs"
    assert {path.name for path in snapshot.iterdir()} >= {
        "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}


# every table states the study's config hash (study_identity), so any edit reruns every table, and
# the translation figures drawn from the translation table
TABLES = {"transfer_table": 1, "cka_language_table": 1, "cka_model_table": 1, "spectra_table": 1,
          "translation_table": 1, "translation_figure": 2, "budget_table": 1, "all": 1}
RERUNS = [  # an edit of the study -> exactly the jobs that read it
    pytest.param(change("models.mbartcp.finetuning.batch_size", 3),
                 {"finetune": 9, "predict": 21, **TABLES},
                 id="fine-tuning batch size"),
    pytest.param(change("models.mbart.objectives", ["source", "mt-m2m", "random-init"]),
                 {"random_init": 1, "finetune": 3, "predict": 7, "dump_activations": 3, "spectra": 1,
                  "cka_languages": 1, "cka_models": 3, "cka_language_figure": 1, "cka_model_figure": 1,
                  "spectra_figure": 1, "translate": 2, **TABLES},
                 id="one objective more"),
    pytest.param(change("study.languages", [*LANGUAGES, "es"]),
                 {"xglue_split": 3, "evaluation_sentences": 1, "predict": 21, "dump_activations": 7,
                  "cka_languages": 7, "cka_models": 3, "cka_language_figure": 7, "cka_model_figure": 2,
                  "baseline": 10, "flores_test_set": 1, "copy_scores": 1, "translate": 5, **TABLES},
                 id="one study language more"),
]


@pytest.mark.workflow
@pytest.mark.parametrize(("edit", "expected"), RERUNS)
def test_an_edit_reruns_only_the_jobs_that_read_it(paper_run: PaperRun, tmp_path: Path, edit,
                                                   expected: dict[str, int]) -> None:
    raw = yaml.safe_load(paper_run.configfile.read_text())
    edit(raw)
    configfile = tmp_path / "edited.yaml"
    configfile.write_text(yaml.safe_dump(raw, sort_keys=False))
    result = snakemake(paper_run.workdir, configfile, "-n", "--quiet", "rules",
                       environment=paper_run.environment, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    planned = planned_counts(result.stdout + result.stderr)
    assert planned == expected, ", ".join(f"{rule} {count}" for rule, count in sorted(planned.items()))


# --- sharing the paper-shaped study through DVC ------------------------------------------------


def run(cwd: Path, *command: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    """A command with the test's virtual environment first on PATH; its output on failure."""
    environment = {**environment, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=environment, timeout=900)
    assert result.returncode == 0, f"{' '.join(command)}:\n{(result.stdout + result.stderr)[-4000:]}"
    return result


def artifacts(study: Path) -> dict[str, tuple[str, int]]:
    """Every artifact of a study root, by path inside it: sha256 and mtime."""
    return {str(path.relative_to(study)): (hashlib.sha256(path.read_bytes()).hexdigest(),
                                           path.stat().st_mtime_ns)
            for folder in paths.ARTIFACT_FOLDERS for path in sorted((study / folder).rglob("*"))
            if path.is_file() and path.name != ".gitignore"}


def contents(study: Path) -> dict[str, str]:
    return {name: digest for name, (digest, _) in artifacts(study).items()}


@pytest.mark.workflow
def test_paper_shaped_study_is_shared_through_dvc(paper_run: PaperRun, tmp_path: Path) -> None:
    """Publish the study with `dvc repro` + `dvc push`, clone, `scripts/pull.sh`: nothing to rerun.

    The colleague's environment has an empty Hugging Face cache: jobs, never the DAG, read the hub, so
    nothing from it is needed to check that pulled artifacts are up to date. The local files the config
    names (the XGLUE release, {path} checkpoints) are at the same paths: the DAG checks that they exist."""
    name, git = paper_run.config["study"]["name"], ("git", "-c", "user.name=t", "-c", "user.email=t@t")
    origin = tmp_path / "origin"  # a copy of the fixture's workdir: the other tests keep theirs as it was
    shutil.copytree(paper_run.workdir, origin, symlinks=True)
    copy_checkout(origin)  # dvc.yaml, .dvc/, scripts/, mtbridge/ (stage deps), as a clone would have them
    configfile = Path("configs") / f"{name}.yaml"
    shutil.copy2(paper_run.configfile, origin / configfile)
    stages = (origin / "dvc.yaml").read_text()
    assert "\n      default: config.yaml\n" in stages
    (origin / "dvc.yaml").write_text(stages.replace("\n      default: config.yaml\n",
                                                    f"\n      {name}: {configfile}\n"))
    before = artifacts(origin / paths.study_root(name))
    assert contents(paper_run.study) == {path: digest for path, (digest, _) in before.items()}

    def publish(*command: str) -> subprocess.CompletedProcess:
        return run(origin, *command, environment=paper_run.environment)

    publish("git", "init", "-q")
    publish("git", "add", "-A")
    publish(*git, "commit", "-qm", "study")
    publish("dvc", "repro")
    after = artifacts(origin / paths.study_root(name))
    assert {path: digest for path, (digest, _) in after.items()} == contents(paper_run.study)
    # Snakemake had nothing to do: only DVC's single-file outputs were touched (copied back from its cache)
    assert {path for path in after if after[path] != before[path]} <= {
        "results/summary.json", "results/findings.md", "results/findings.provenance.json",
        "results/summary.provenance.json"}
    publish("dvc", "remote", "add", "-d", "shared", str(tmp_path / "remote"))
    publish("dvc", "remote", "modify", "shared", "verify", "true")
    publish("dvc", "push", "-q")
    publish("git", "add", "-A")
    publish(*git, "commit", "-qm", "results")

    colleague = tmp_path / "colleague"
    run(tmp_path, "git", "clone", "-q", str(origin), str(colleague), environment=paper_run.environment)
    (colleague / ".venv").symlink_to(Path(sys.executable).parent.parent)  # pull.sh installs without one
    empty = tmp_path / "empty_hf_home"
    environment = {**no_network_environment(empty), "HF_DATASETS_CACHE": str(empty / "datasets")}
    pulled = run(colleague, "bash", "scripts/pull.sh", "-q", environment=environment)
    assert "Nothing to be done" in pulled.stdout + pulled.stderr
    plan = snakemake(colleague, configfile, "-n", environment=environment, timeout=300)
    assert plan.returncode == 0 and "Nothing to be done" in plan.stdout + plan.stderr, plan.stderr[-3000:]
    run(colleague, "dvc", "status", "--quiet", environment=environment)
    assert contents(colleague / paths.study_root(name)) == contents(paper_run.study)
    assert not empty.exists() or not any(empty.rglob("*.safetensors"))  # nothing fetched from the hub
