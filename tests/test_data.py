"""Parquet writers of the synthetic world, run on config.yaml's world with small sizes."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from mtbridge.data import (
    write_language_corpora,
    write_parallel_corpus,
    write_task_split,
)
from mtbridge.splits import read_task_split
from mtbridge.tasks import CLASSIFICATION_SCHEMA, TASKS, schema_for, task_spec

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"
SIZES = {"monolingual": 40, "parallel": 12, "evaluation": 8, "train": 9, "dev": 6, "test": 5}
SEED = 1234


@pytest.fixture(scope="module")
def world() -> dict:
    world = yaml.safe_load(CONFIG.read_text())["world"]
    world["sizes"] = dict(SIZES)
    return world


def only(world: dict, *languages: str) -> dict:
    """The world restricted to some languages, as the pipeline hands it to a job."""
    sliced = copy.deepcopy(world)
    sliced["languages"] = {code: world["languages"][code] for code in languages}
    return sliced


def write(world: dict, language: str, directory: Path,
          splits: tuple[str, ...] = ("dev", "test")) -> dict[str, Path]:
    """A language's files as the pipeline's jobs write them: its corpora, then one job per task split."""
    paths = {"monolingual": directory / "mono.parquet", "evaluation": directory / "eval.parquet"}
    write_language_corpora(world, SEED, language, paths["monolingual"], paths["evaluation"])
    for task in TASKS:
        for split in splits:
            paths[f"{task}-{split}"] = directory / f"{task}-{split}.parquet"
            write_task_split(world, SEED, task, split, language, paths[f"{task}-{split}"])
    return paths


def contents(paths: dict[str, Path]) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in paths.items()}


def test_same_world_and_seed_give_identical_bytes(world: dict, tmp_path: Path) -> None:
    first = write(world, "mid", tmp_path / "a")
    second = write(copy.deepcopy(world), "mid", tmp_path / "b")
    assert contents(first) == contents(second)


def test_other_languages_leave_a_language_files_unchanged(world: dict, tmp_path: Path) -> None:
    alone = write(only(world, "distant"), "distant", tmp_path / "alone")
    together = write(world, "distant", tmp_path / "together")
    assert contents(alone) == contents(together)


def test_sizes_and_schemas_follow_the_config(world: dict, tmp_path: Path) -> None:
    paths = write(world, "en", tmp_path, splits=("train", "dev", "test"))
    mono = pq.read_table(paths["monolingual"]).to_pylist()
    assert sum(row["text"].split().count(".") for row in mono) == SIZES["monolingual"]
    assert pq.read_table(paths["evaluation"]).num_rows == SIZES["evaluation"]
    for task in TASKS:
        kind = task_spec(task, world).kind
        for split in ("train", "dev", "test"):
            table = read_task_split(paths[f"{task}-{split}"], kind)
            assert table.schema.equals(schema_for(kind)) and table.num_rows == SIZES[split]
            assert set(table.column("language").to_pylist()) == {"en"}


def test_task_ids_line_up_across_languages(world: dict, tmp_path: Path) -> None:
    english, isolate = (write(world, code, tmp_path / code) for code in ("en", "isolate"))
    for name in ("ner-test", "nli-dev"):
        ids = [pq.read_table(paths[name]).column("id").to_pylist() for paths in (english, isolate)]
        assert ids[0] == ids[1] and len(set(ids[0])) == len(ids[0])
    labels = [pq.read_table(paths["nli-dev"]).column("label").to_pylist()
              for paths in (english, isolate)]
    assert labels[0] == labels[1]


def test_a_task_split_reads_only_its_own_size(world: dict, tmp_path: Path) -> None:
    """The pipeline hands a split job the world with its language and its split's size only."""
    narrow = only(world, "en")
    narrow["sizes"] = {"train": SIZES["train"]}
    write_task_split(narrow, SEED, "pos", "train", "en", tmp_path / "pos.parquet")
    paths = write(world, "en", tmp_path / "all", splits=("train",))
    assert (tmp_path / "pos.parquet").read_bytes() == paths["pos-train"].read_bytes()
    assert read_task_split(paths["pos-train"], "tagging").num_rows == SIZES["train"]


def test_parallel_corpus_holds_the_same_pairs_both_ways(world: dict, tmp_path: Path) -> None:
    write_parallel_corpus(only(world, "en", "mid"), SEED, "en", "mid", tmp_path / "en-mid.parquet")
    write_parallel_corpus(world, SEED, "mid", "en", tmp_path / "mid-en.parquet")
    forward = pq.read_table(tmp_path / "en-mid.parquet").to_pylist()
    backward = pq.read_table(tmp_path / "mid-en.parquet").to_pylist()
    assert len(forward) == SIZES["parallel"]
    assert [(r["source"], r["target"]) for r in forward] == [
        (r["target"], r["source"]) for r in backward]
    assert {r["source_language"] for r in backward} == {"mid"}


def test_unknown_language_fails_naming_the_defined_ones(world: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown language 'xx' \(defined: en, close, mid"):
        write(world, "xx", tmp_path)
    assert not list(tmp_path.iterdir())


def test_read_task_split_rejects_the_wrong_kind(tmp_path: Path) -> None:
    path = tmp_path / "split.parquet"
    pq.write_table(pa.Table.from_pylist(
        [{"id": "x", "language": "en", "text_a": "a", "text_b": None, "label": "l"}],
        schema=CLASSIFICATION_SCHEMA), path)
    assert read_task_split(path, "classification").num_rows == 1
    with pytest.raises(ValueError, match=re.escape(f"{path}: missing column")):
        read_task_split(path, "tagging")
    pq.write_table(pa.table({"id": ["x"], "language": ["en"], "tokens": ["a b"], "tags": ["O"]}),
                   path)
    with pytest.raises(ValueError, match=re.escape(f"{path}: column 'tokens' is string")):
        read_task_split(path, "tagging")


def test_task_registry(world: dict) -> None:
    assert task_spec("topic", world).labels == tuple(world["topics"])
    assert {task: task_spec(task, world).metric for task in TASKS} == {
        "nli": "accuracy", "paraphrase": "accuracy", "topic": "accuracy", "pos": "accuracy",
        "ner": "entity_f1"}
    assert task_spec("ner", world).labels[0] == "O" and task_spec("pos", world).kind == "tagging"
    with pytest.raises(ValueError, match="unknown task 'qa'"):
        task_spec("qa", world)
    with pytest.raises(ValueError, match="unknown task kind 'corpus'"):
        schema_for("corpus")
