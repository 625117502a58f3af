"""The five XGLUE-style tasks: what each one predicts, how it is scored, how it is stored.

One registry keeps the generator, the writers and the trainers agreeing on label sets
and Parquet schemas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

TASKS = ("nli", "paraphrase", "topic", "pos", "ner")

NLI_LABELS = ("entailment", "neutral", "contradiction")
PARAPHRASE_LABELS = ("different", "paraphrase")
UPOS_TAGS = ("DET", "ADJ", "NOUN", "PROPN", "NUM", "VERB", "AUX", "PART", "ADP", "CCONJ", "PUNCT")
ENTITY_TYPES = ("PER", "ORG", "LOC")
NER_TAGS = ("O",) + tuple(f"{prefix}-{kind}" for kind in ENTITY_TYPES for prefix in "BI")

CLASSIFICATION_SCHEMA = pa.schema([
    ("id", pa.string()), ("language", pa.string()),
    ("text_a", pa.string()), ("text_b", pa.string()), ("label", pa.string()),
])
TAGGING_SCHEMA = pa.schema([
    ("id", pa.string()), ("language", pa.string()),
    ("tokens", pa.list_(pa.string())), ("tags", pa.list_(pa.string())),
])
CORPUS_SCHEMA = pa.schema([("id", pa.string()), ("language", pa.string()), ("text", pa.string())])
PARALLEL_SCHEMA = pa.schema([
    ("id", pa.string()), ("source_language", pa.string()), ("target_language", pa.string()),
    ("source", pa.string()), ("target", pa.string()),
])

Kind = Literal["classification", "tagging"]
Metric = Literal["accuracy", "entity_f1", "ndcg"]


@dataclass(frozen=True)
class TaskSpec:
    """What a task predicts (its label set) and how predictions are scored."""

    name: str
    kind: Kind
    metric: Metric
    labels: tuple[str, ...]


def task_spec(name: str, world: Mapping) -> TaskSpec:
    """The spec of task ``name``; topic labels are the world's topics, so they follow the config."""
    specs = {
        "nli": TaskSpec("nli", "classification", "accuracy", NLI_LABELS),
        "paraphrase": TaskSpec("paraphrase", "classification", "accuracy", PARAPHRASE_LABELS),
        "topic": TaskSpec("topic", "classification", "accuracy", tuple(world["topics"])),
        "pos": TaskSpec("pos", "tagging", "accuracy", UPOS_TAGS),
        "ner": TaskSpec("ner", "tagging", "entity_f1", NER_TAGS),
    }
    if name not in specs:
        raise ValueError(f"unknown task {name!r} (known: {', '.join(TASKS)})")
    return specs[name]


def task_of(definition: Mapping) -> TaskSpec:
    """A job's task definition (see mtbridge.config.task_definition) as a TaskSpec."""
    return TaskSpec(definition["name"], definition["kind"], definition["metric"],
                    tuple(definition["labels"]))


def predictions_schema(spec: TaskSpec) -> pa.Schema:
    """(id, gold, predicted), and for a ranking task the score each page was ranked by."""
    value = pa.string() if spec.kind == "classification" else pa.list_(pa.string())
    fields = [("id", pa.string()), ("gold", value), ("predicted", value)]
    return pa.schema(fields + ([("relevance", pa.float64())] if spec.metric == "ndcg" else []))


def schema_for(kind: str) -> pa.Schema:
    """The Parquet schema of a task split of this kind."""
    schemas = {"classification": CLASSIFICATION_SCHEMA, "tagging": TAGGING_SCHEMA}
    if kind not in schemas:
        raise ValueError(f"unknown task kind {kind!r} (known: {', '.join(schemas)})")
    return schemas[kind]


# --- surface baselines (mtbridge.baselines); decided here so that the DAG need not import scikit-learn

BASELINES = ("majority", "word-ngrams", "char-ngrams", "overlap", "word-lookup")
# Tasks whose text_b is a second text to compare with text_a (NC's text_b is its article's body).
PAIR_TASKS = frozenset({"nli", "paraphrase", "xnli", "pawsx", "qadsm", "wpr", "qam"})


def task_baselines(definition: Mapping) -> tuple[str, ...]:
    """The baselines that apply to a task definition: tagging gets per-token ones, classification and
    ranking get text classifiers, and pair tasks also the lexical overlap of their two texts."""
    if definition["kind"] == "tagging":
        return ("majority", "word-lookup")
    pair = ("overlap",) if definition["name"] in PAIR_TASKS else ()
    return ("majority", "word-ngrams", "char-ngrams", *pair)
