"""Resource levels change corpus sizes and nothing else."""

from __future__ import annotations

import copy
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import SEED, SmallWorld

from mtbridge import resources
from mtbridge.data import (
    write_language_corpora,
    write_parallel_corpus,
    write_parallel_test_set,
    write_task_split,
)
from mtbridge.synthetic import World

LANGUAGES = ("en", "close", "isolate")


def low_resource(world: dict, level: object = 0.1) -> dict:
    world = copy.deepcopy(world)
    world["sizes"] = {**world["sizes"], "monolingual": 120, "parallel": 60, "parallel_test": 10}
    world["resource_levels"] = {"low": level}
    world["languages"]["isolate"]["resource"] = "low"
    return world


def test_sizes_per_level(small_world: SmallWorld) -> None:
    world = low_resource(small_world.world)
    assert resources.language_sizes(world, "en") == {"monolingual": 120, "parallel": 60}
    assert resources.language_sizes(world, "isolate") == {"monolingual": 12, "parallel": 6}
    assert resources.pair_size(world, "en", "close") == 60
    assert resources.pair_size(world, "en", "isolate") == resources.pair_size(world, "isolate", "close") == 6
    assert resources.pair_size(world, "en", "isolate", size=1000) == 100  # paper scale: a cap on max_pairs
    assert resources.by_level(world, LANGUAGES) == {"high": ["en", "close"], "low": ["isolate"]}
    parallel_only = low_resource(small_world.world, {"monolingual": 1.0, "parallel": 0.1})
    assert resources.language_sizes(parallel_only, "isolate") == {"monolingual": 120, "parallel": 6}
    leveled = copy.deepcopy(small_world.world)  # the micro config makes isolate low: take the levels out
    leveled.pop("resource_levels", None)
    leveled["languages"]["isolate"].pop("resource", None)
    full = leveled["sizes"]["monolingual"]
    assert resources.language_sizes(leveled, "isolate")["monolingual"] == full  # no levels


@pytest.mark.parametrize(("level", "message"), [
    (0.0, r"resource level 'low': expected a share in \(0, 1\]"),
    (2, r"resource level 'low': expected a share in \(0, 1\]"),
    ({"monolingual": 0.5}, r"resource level 'low': expected a share"),
])
def test_a_bad_level_fails_in_one_line(small_world: SmallWorld, level: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resources.language_sizes(low_resource(small_world.world, level), "isolate")
    world = low_resource(small_world.world)
    world["languages"]["close"]["resource"] = "tiny"
    with pytest.raises(ValueError, match=r"world\.languages\.close\.resource: unknown resource level 'tiny' "
                                         r"\(defined: low\)"):
        resources.language_sizes(world, "close")


def corpora(world: dict, root: Path, scaled: bool) -> dict[str, list[dict]]:
    """Every corpus and split of the three languages, written by the data jobs."""
    for language in LANGUAGES:
        given = resources.language_world(world, language) if scaled else world
        write_language_corpora(given, SEED, language, root / f"mono-{language}.parquet",
                               root / f"eval-{language}.parquet")
        write_task_split(given, SEED, "topic", "test", language, root / f"topic-{language}.parquet")
    for source, target in (("en", "close"), ("en", "isolate")):
        given = resources.pair_world(world, source, target) if scaled else world
        write_parallel_corpus(given, SEED, source, target, root / f"para-{source}-{target}.parquet")
        write_parallel_test_set(world, SEED, source, target, root / f"test-{source}-{target}.parquet")
    return {path.stem: pq.read_table(path).to_pylist() for path in sorted(root.glob("*.parquet"))}


def test_resource_levels_change_corpus_sizes_and_nothing_else(small_world: SmallWorld,
                                                               tmp_path: Path) -> None:
    world = low_resource(small_world.world)
    (tmp_path / "full").mkdir()
    (tmp_path / "low").mkdir()
    full, low = corpora(world, tmp_path / "full", False), corpora(world, tmp_path / "low", True)
    changed = {name for name in full if full[name] != low[name]}
    assert changed == {"mono-isolate", "para-en-isolate"}
    assert len(low["para-en-isolate"]) == 6 and low["para-en-isolate"] == full["para-en-isolate"][:6]
    mono, whole = low["mono-isolate"], full["mono-isolate"]
    sentences = sum(row["text"].count(" . ") + row["text"].endswith(" .") for row in mono)
    assert sentences == 12
    assert mono[:-1] == whole[:len(mono) - 1]  # the first documents, then the last one cut short
    assert whole[len(mono) - 1]["text"].startswith(mono[-1]["text"])
    lexicon = World(world, SEED).lexicon("en", "isolate")
    for language in LANGUAGES:  # the lexicon is the same whatever the level
        assert World(resources.language_world(world, language), SEED).lexicon("en", "isolate") == lexicon
