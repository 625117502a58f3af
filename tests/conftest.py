"""Shared fixtures: a small synthetic world on disk, a tokenizer trained on it, tiny model specs; and
the paper study's stand-ins (tests/paper_fixtures.py), written once for every paper test module.

Everything here is session-scoped and sized for a busy 2-core machine: three languages,
a few dozen sentences each, a 300-piece vocabulary and 1-layer models of width 32. Running Snakemake:
tests/snakemake_runner.py.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from paper_fixtures import StandIns

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

ROOT = Path(__file__).resolve().parents[1]
MICRO = ROOT / "configs" / "micro.yaml"
SEED = 7
LANGUAGES = ("en", "close", "isolate")
TRAIN_LANGUAGE = "en"
TASKS = ("topic", "nli", "pos", "ner")
SIZES = {"monolingual": 45, "parallel": 12, "evaluation": 2, "train": 16, "dev": 8, "test": 8}
PARALLEL = (("en", "close"), ("en", "isolate"), ("close", "isolate"))
VOCAB_SIZE = 300
ARCHITECTURE_OF = {"mbart": "mbart", "xlmr": "xlm-roberta"}


def benchmark_module(name: str) -> ModuleType:
    """``benchmarks/NAME.py``, imported once as the script runs it: its folder on ``sys.path`` (for
    ``_common`` and sibling scripts) and itself in ``sys.modules`` (dataclasses look their module up
    there)."""
    if name not in sys.modules:
        folder = str(ROOT / "benchmarks")
        if folder not in sys.path:
            sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@dataclass(frozen=True)
class SmallWorld:
    """Where the small world's files are, named like the pipeline's artifacts."""

    root: Path
    config: dict  # the micro config, validated and filled with defaults
    world: dict   # its `world`, with the small sizes above

    def monolingual(self, language: str) -> Path:
        return self.root / "monolingual" / f"{language}.parquet"

    def parallel(self, source: str, target: str) -> Path:
        return self.root / "parallel" / f"{source}-{target}.parquet"

    def split(self, task: str, split: str, language: str) -> Path:
        return self.root / "tasks" / task / split / f"{language}.parquet"

    @property
    def topics(self) -> list[str]:
        return list(self.world["topics"])


@pytest.fixture(scope="session")
def micro_config() -> dict:
    from mtbridge.config import load_config

    return load_config(MICRO)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory, micro_config: dict) -> SmallWorld:
    from mtbridge.data import write_language_corpora, write_parallel_corpus, write_task_split

    world = copy.deepcopy(micro_config["world"])
    world["sizes"] = dict(SIZES)
    small = SmallWorld(tmp_path_factory.mktemp("world"), micro_config, world)
    for language in LANGUAGES:
        splits = ("train", "dev", "test") if language == TRAIN_LANGUAGE else ("dev", "test")
        write_language_corpora(world, SEED, language, small.monolingual(language),
                               small.root / "evaluation" / f"{language}.parquet")
        for task in TASKS:
            for split in splits:
                write_task_split(world, SEED, task, split, language, small.split(task, split, language))
    for source, target in PARALLEL:
        write_parallel_corpus(world, SEED, source, target, small.parallel(source, target))
    return small


@pytest.fixture(scope="session")
def tokenizer_dir(small_world: SmallWorld) -> Path:
    from mtbridge.tokenizer import build_tokenizer

    directory = small_world.root / "tokenizer"
    build_tokenizer([small_world.monolingual(code) for code in LANGUAGES], LANGUAGES, VOCAB_SIZE,
                    per_language=200, directory=directory)
    return directory


@pytest.fixture(scope="session")
def tokenizer(tokenizer_dir: Path):
    from mtbridge.tokenizer import load_tokenizer

    return load_tokenizer(tokenizer_dir)


def model_spec(micro_config: dict, architecture: str, steps: int = 2, batch_size: int = 4) -> dict:
    """The micro config's model of ``architecture`` (width 32, 1 layer) with a tiny schedule."""
    name = next(key for key, value in ARCHITECTURE_OF.items() if value == architecture)
    spec = copy.deepcopy(micro_config["models"][name])
    spec["pretraining"] = {"steps": steps, "batch_size": batch_size, "learning_rate": 0.001,
                           "warmup_steps": 0}
    return spec


@pytest.fixture(scope="session")
def specs(micro_config: dict) -> dict[str, dict]:
    """Tiny model specs by architecture name (``mbart``, ``xlm-roberta``)."""
    return {architecture: model_spec(micro_config, architecture)
            for architecture in ARCHITECTURE_OF.values()}


@pytest.fixture(scope="session")
def random_checkpoints(small_world: SmallWorld, tokenizer_dir: Path, specs: dict) -> dict[str, Path]:
    """An untrained (``random-init``) checkpoint of each architecture: cheap, and loads like any."""
    from mtbridge.pretraining import random_init

    directories = {}
    for architecture, spec in specs.items():
        directories[architecture] = small_world.root / "checkpoints" / architecture / "random-init"
        random_init(spec=spec, tokenizer_dir=str(tokenizer_dir),
                    output_dir=str(directories[architecture]), seed=SEED, threads=1)
    return directories


@pytest.fixture
def restore_mtbridge_logger() -> Iterator[None]:
    """Jobs run in-process point the ``mtbridge`` logger at their log; undo that afterwards."""
    logger = logging.getLogger("mtbridge")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:], logger.level, logger.propagate = saved


# --- the paper study's stand-ins (test_hub_fetch, test_paper_config, test_paper_dag, test_paper_run) ---


@pytest.fixture(scope="session")
def standins(tmp_path_factory: pytest.TempPathFactory) -> StandIns:
    """Tiny checkpoints of every family, OPUS-100, FLORES+ and XGLUE layouts, and a fake HF cache of
    them all; written once per session (a few seconds), read-only for the tests."""
    from paper_fixtures import write_standins

    return write_standins(tmp_path_factory.mktemp("paper"))


@pytest.fixture
def offline_cache(standins: StandIns, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIns]:
    """This process reads the fake cache only: HF_HUB_OFFLINE set, HF_HOME and the hub cache there."""
    import huggingface_hub.constants
    from paper_fixtures import OFFLINE

    from mtbridge import hub

    for name, value in OFFLINE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HF_HOME", str(standins.hf_home))
    monkeypatch.setenv("HF_HUB_CACHE", str(standins.hf_home / "hub"))  # read at import: patched below too
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(standins.hf_home / "hub"))
    hub.hub_offline.cache_clear()
    yield standins
    hub.hub_offline.cache_clear()


@pytest.fixture(scope="session")
def paper_raw() -> dict:
    """configs/paper.yaml as written (tests edit deep copies of it)."""
    import yaml
    from paper_fixtures import PAPER

    return yaml.safe_load(PAPER.read_text())
