"""Writing the synthetic world to Parquet: the data jobs of the pipeline.

Each job gets the world restricted to the languages it writes (so its parameters, and
hence its outputs, change only when those languages change) and writes atomically.
"""

from __future__ import annotations

from collections.abc import Mapping

from mtbridge.aliases import PathLike
from mtbridge.io import write_parquet, write_text
from mtbridge.synthetic import World
from mtbridge.tasks import CORPUS_SCHEMA, PARALLEL_SCHEMA, schema_for, task_spec


def write_language_corpora(world: Mapping, seed: int, language: str, monolingual_path: PathLike,
                           evaluation_path: PathLike) -> None:
    """Write a language's monolingual corpus and parallel evaluation set. Task splits have jobs of
    their own, so the study's task list is no setting of this job (adding a task reruns none of it)."""
    synthetic = World(world, seed)
    synthetic.language(language)  # an unknown code fails before anything is written
    sizes = world["sizes"]
    write_parquet(synthetic.monolingual(language, sizes["monolingual"]), monolingual_path, CORPUS_SCHEMA)
    write_parquet(synthetic.evaluation(language, sizes["evaluation"]), evaluation_path, CORPUS_SCHEMA)


def write_task_split(world: Mapping, seed: int, task: str, split: str, language: str,
                     path: PathLike) -> None:
    """Write one task split: one job per task × split × language."""
    synthetic = World(world, seed)
    rows = synthetic.task_split(task, split, language, world["sizes"][split])
    write_parquet(rows, path, schema_for(task_spec(task, world).kind))


def write_parallel_corpus(world: Mapping, seed: int, source: str, target: str,
                          path: PathLike) -> None:
    """Write the ``source``-``target`` parallel corpus (same sentences as ``target``-``source``)."""
    rows = World(world, seed).parallel(source, target, world["sizes"]["parallel"])
    write_parquet(rows, path, PARALLEL_SCHEMA)


def write_parallel_test_set(world: Mapping, seed: int, source: str, target: str,
                            path: PathLike) -> None:
    """Write held-out ``source``-``target`` pairs for the translation check: no sentence's meaning is in
    the parallel corpus, so a score measures translation, not recall of a training pair."""
    rows = World(world, seed).parallel(source, target, world["sizes"]["parallel_test"], split="test")
    write_parquet(rows, path, PARALLEL_SCHEMA)



def write_world_dictionary(world: Mapping, seed: int, source: str, target: str, path: PathLike) -> None:
    """Write the world's ``source``→``target`` lexicon as a MUSE-style dictionary (``source target``
    per line, one line per translation, sorted), as ``mtbridge.codeswitch.read_dictionary`` reads it."""
    lexicon = World(world, seed).lexicon(source, target)
    write_text("".join(f"{word} {translation}\n" for word, translations in lexicon.items()
                       for translation in translations), path)
