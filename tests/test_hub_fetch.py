"""Paper-scale inputs offline: hub checkpoints and datasets from {path} or the local Hugging Face cache
(the stand-ins of tests/paper_fixtures.py: tiny random-weight checkpoints with the real tokenizer
classes, OPUS-100 and FLORES+ layouts, XNLI premises, XGLUE's Parquet copy, a fake cache entry), and the
jobs a hub family runs in process (random init, NLLB continued pretraining, dumps, spectra)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from paper_fixtures import (
    ARCHITECTURES,
    FLORES_ID,
    KEY,
    LANGUAGES,
    PARALLEL_ID,
    SENTENCES,
    WIDTH,
    XGLUE_ID,
    XGLUE_REVISION,
    StandIns,
    build_tokenizer,
    cache_folder,
    fixture_texts,
    one_line,
    repo_id,
)
from test_xglue import expected_rows

from mtbridge import hub
from mtbridge.analysis import write_spectra
from mtbridge.corpora import write_evaluation_set, write_parallel_corpus
from mtbridge.io import write_parquet
from mtbridge.models import MODEL_TYPES, fetch_checkpoint, load_encoder
from mtbridge.pretraining import continue_pretraining, random_init
from mtbridge.representations import dump_activations, open_dump
from mtbridge.splits import read_task_split
from mtbridge.tasks import CLASSIFICATION_SCHEMA
from mtbridge.tokenizer import load_tokenizer
from mtbridge.xglue import write_xglue_split, xglue_task_spec


def encoder_state(directory: Path) -> dict[str, torch.Tensor]:
    return load_encoder(directory).state_dict()



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



def test_fake_cache_looks_like_a_real_download(standins: StandIns) -> None:
    storage = cache_folder(standins.hf_home, repo_id("mbart"))
    commit = standins.commits[repo_id("mbart")]
    assert (storage / "refs" / "main").read_text() == commit and len(commit) == 40
    snapshot = storage / "snapshots" / commit
    assert (snapshot / "config.json").is_symlink()
    assert (snapshot / "model.safetensors").resolve().parent.name == "blobs"
    assert {path.name for path in snapshot.iterdir()} >= {
        "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}
