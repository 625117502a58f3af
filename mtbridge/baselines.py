"""Surface baselines: what a reviewer tries before crediting a pretrained model with a transfer score.

Each baseline is trained on the training language's train split and tested zero-shot on every test
language, like the fine-tuned models, and writes the same two files as ``finetuning.predict``: the
predictions Parquet and a metrics file with model ``baseline``, objective the baseline's name and
seed 0, so the transfer table reads it as one more run. Which baselines apply to a task is decided
by ``mtbridge.tasks.task_baselines``.

- ``majority``: the most frequent training label, or tag for every token.
- ``word-ngrams``, ``char-ngrams``: logistic regression on tf-idf word 1-2-grams or character
  2-4-grams (within words). A pair's ``text_a`` and ``text_b`` get one vectoriser each, i.e.
  separate vocabularies and weights, so the model sees both texts but not how they relate.
- ``overlap``: logistic regression on the lexical overlap of the two texts (``OVERLAP_FEATURES``):
  how far "same words, so same meaning" gets on a pair task.
- ``word-lookup``: each word's most frequent training tag; unseen words get the most frequent tag.

A ranking task (WPR) ranks each query's pages by the grade expected under the predicted label
distribution, as the fine-tuned models do. Everything is deterministic: lbfgs has no randomness,
and ties between equally frequent labels go to the alphabetically first, as in ``DummyClassifier``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from mtbridge import evaluation
from mtbridge.aliases import PathLike
from mtbridge.io import read_parquet
from mtbridge.tasks import TaskSpec, schema_for, task_baselines, task_of

MODEL = "baseline"
SEED = 0
WORD = re.compile(r"\w+")
OVERLAP_FEATURES = ("b_words_in_a", "a_words_in_b", "jaccard", "same_multiset", "same_string",
                    "length_difference")
MAX_FEATURES = 500_000  # per text: bounds memory on XGLUE's 393k English NLI pairs
NGRAMS = {
    "word-ngrams": {"analyzer": "word", "ngram_range": (1, 2), "token_pattern": WORD.pattern},
    "char-ngrams": {"analyzer": "char_wb", "ngram_range": (2, 4)},
}


def words(text: str) -> list[str]:
    """Lower-cased runs of letters and digits: punctuation and case do not make words differ."""
    return WORD.findall(text.lower())


def overlap_features(text_a: str, text_b: str) -> list[float]:
    """``OVERLAP_FEATURES`` of one pair: shares of each text's words found in the other, Jaccard of the
    word sets, identical word multisets (same words, any order), identical strings, and the length
    difference in words (a minus b)."""
    a, b = words(text_a), words(text_b)
    set_a, set_b = set(a), set(b)
    return [
        sum(word in set_a for word in b) / max(len(b), 1),
        sum(word in set_b for word in a) / max(len(a), 1),
        len(set_a & set_b) / max(len(set_a | set_b), 1),
        float(Counter(a) == Counter(b)),
        float(text_a == text_b),
        float(len(a) - len(b)),
    ]


def overlap_matrix(frame: pd.DataFrame) -> np.ndarray:
    return np.array([overlap_features(a, b) for a, b in zip(frame["text_a"], frame["text_b"], strict=True)])


def logistic_regression() -> LogisticRegression:
    return LogisticRegression(max_iter=2000)


def classifier(baseline: str, paired: bool) -> BaseEstimator:
    """An unfitted scikit-learn classifier of a data frame with columns ``text_a`` and ``text_b``."""
    if baseline == "majority":
        return DummyClassifier(strategy="prior")
    if baseline == "overlap":
        return make_pipeline(FunctionTransformer(overlap_matrix), StandardScaler(), logistic_regression())
    columns = ["text_a", "text_b"] if paired else ["text_a"]
    vectorisers = [(column, TfidfVectorizer(max_features=MAX_FEATURES, **NGRAMS[baseline]), column)
                   for column in columns]
    return make_pipeline(ColumnTransformer(vectorisers), logistic_regression())


def text_frame(rows: Sequence[dict]) -> pd.DataFrame:
    return pd.DataFrame({"text_a": [row["text_a"] for row in rows],
                         "text_b": [row["text_b"] or "" for row in rows]})


def classify(baseline: str, spec: TaskSpec, train: Sequence[dict], test: Sequence[dict]
             ) -> tuple[list[str], list[float] | None]:
    """Predicted labels of ``test`` and, for a ranking task, each row's expected grade."""
    paired = any(row["text_b"] for row in train)
    model = classifier(baseline, paired).fit(text_frame(train), [row["label"] for row in train])
    probabilities = model.predict_proba(text_frame(test))
    predicted = [str(label) for label in model.classes_[probabilities.argmax(axis=1)]]
    if spec.metric != "ndcg":
        return predicted, None
    grades = np.array([float(label) for label in model.classes_])
    return predicted, (probabilities @ grades).tolist()


def most_frequent(counts: Counter) -> str:
    """The most frequent label; the alphabetically first among equally frequent ones."""
    return min(counts, key=lambda label: (-counts[label], label))


def tag(baseline: str, train: Sequence[dict], test: Sequence[dict]) -> list[list[str]]:
    """Predicted tags of ``test``: the most frequent tag everywhere, or per word (``word-lookup``)."""
    overall = most_frequent(Counter(tag for row in train for tag in row["tags"]))
    lookup: dict[str, str] = {}
    if baseline == "word-lookup":
        by_word: defaultdict[str, Counter] = defaultdict(Counter)
        for row in train:
            for word, word_tag in zip(row["tokens"], row["tags"], strict=True):
                by_word[word][word_tag] += 1
        lookup = {word: most_frequent(counts) for word, counts in by_word.items()}
    return [[lookup.get(word, overall) for word in row["tokens"]] for row in test]


def predict(baseline: str, spec: TaskSpec, train: Sequence[dict], test: Sequence[dict]
            ) -> tuple[list, list[float] | None]:
    """Predicted labels (tag sequences) of ``test``, and each row's expected grade for a ranking task."""
    if spec.kind == "tagging":
        return tag(baseline, train, test), None
    return classify(baseline, spec, train, test)


def read_rows(path: PathLike, spec: TaskSpec) -> list[dict]:
    rows = read_parquet(path, schema_for(spec.kind)).to_pylist()
    if not rows:
        raise ValueError(f"{path}: no examples")
    return rows


def run_baseline(*, baseline: str, task: Mapping, language: str, train_path: str, test_path: str,
                 predictions_path: str, metrics_path: str) -> None:
    """Train ``baseline`` on the train split, predict ``language``'s test split, write both files (on the
    job's threads: mtbridge.jobs caps every job's BLAS and OpenMP pools)."""
    spec = task_of(task)
    if baseline not in task_baselines(task):
        raise ValueError(f"baseline {baseline!r} does not apply to task {spec.name} "
                         f"(its baselines: {', '.join(task_baselines(task))})")
    train, test = read_rows(train_path, spec), read_rows(test_path, spec)
    predicted, relevance = predict(baseline, spec, train, test)
    gold = [row["tags" if spec.kind == "tagging" else "label"] for row in test]
    score = evaluation.split_score(spec.metric, test, gold, predicted, relevance)
    evaluation.write_predictions(predictions_path, spec, test, gold, predicted, relevance)
    evaluation.write_metrics(metrics_path, model=MODEL, objective=baseline, task=spec.name,
                             language=language, pretraining_seed=0, seed=SEED, metric=spec.metric,
                             score=score,
                             examples=len(test))
