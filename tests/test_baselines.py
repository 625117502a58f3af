"""Surface baselines: each one's rule on toy data, and their files on the small world."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import TRAIN_LANGUAGE, SmallWorld

from mtbridge import paths
from mtbridge.baselines import classify, overlap_features, run_baseline, tag
from mtbridge.io import write_parquet
from mtbridge.tables import load_metrics
from mtbridge.tasks import CLASSIFICATION_SCHEMA, TaskSpec, predictions_schema, task_baselines, task_spec

TOY = TaskSpec("toy", "classification", "accuracy", ("no", "yes"))
RANKING = TaskSpec("wpr", "classification", "ndcg", ("0", "1", "2", "3", "4"))


def definition(spec: TaskSpec) -> dict:
    return {"name": spec.name, "kind": spec.kind, "metric": spec.metric, "labels": list(spec.labels)}


def pair(text_a: str, text_b: str | None, label: str) -> dict:
    return {"id": f"{text_a}|{text_b}", "language": "en", "text_a": text_a, "text_b": text_b, "label": label}


def run_all(small_world: SmallWorld, root: Path, language: str) -> list[Path]:
    """Every applicable baseline of the small world's tasks on ``language``; the metrics files."""
    written = []
    for task in ("topic", "nli", "pos", "ner"):
        task_definition = definition(task_spec(task, small_world.world))
        for baseline in task_baselines(task_definition):
            metrics = root / paths.baseline_metrics(baseline, task, language)
            run_baseline(baseline=baseline, task=task_definition, language=language,
                         train_path=str(small_world.split(task, "train", TRAIN_LANGUAGE)),
                         test_path=str(small_world.split(task, "test", language)),
                         predictions_path=str(root / paths.baseline_predictions(baseline, task, language)),
                         metrics_path=str(metrics))
            written.append(metrics)
    return written


@pytest.fixture(scope="module")
def outputs(small_world: SmallWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("baselines")
    run_all(small_world, root, "isolate")
    return root


def test_which_baselines_apply() -> None:
    assert task_baselines({"name": "nli", "kind": "classification"}) == (
        "majority", "word-ngrams", "char-ngrams", "overlap")
    assert "overlap" not in task_baselines({"name": "topic", "kind": "classification"})
    assert task_baselines({"name": "pos", "kind": "tagging"}) == ("majority", "word-lookup")


def test_majority_predicts_the_most_frequent_training_label(small_world: SmallWorld, outputs: Path) -> None:
    train = pq.read_table(small_world.split("topic", "train", TRAIN_LANGUAGE)).column("label").to_pylist()
    predictions = pq.read_table(outputs / paths.baseline_predictions("majority", "topic", "isolate"))
    counts = Counter(train)
    majority = min(label for label, count in counts.items() if count == max(counts.values()))  # ties: a-z
    assert set(predictions.column("predicted").to_pylist()) == {majority}
    gold = predictions.column("gold").to_pylist()
    metrics = load_metrics([outputs / paths.baseline_metrics("majority", "topic", "isolate")])
    assert metrics.loc[0, "score"] == pytest.approx(gold.count(majority) / len(gold))


def test_word_lookup_tags_each_word_with_its_most_frequent_training_tag() -> None:
    train = [{"tokens": ["the", "dog", "runs"], "tags": ["DET", "NOUN", "VERB"]},
             {"tokens": ["the", "runs", "runs"], "tags": ["DET", "NOUN", "NOUN"]},
             {"tokens": ["a", "dog"], "tags": ["DET", "NOUN"]}]
    test = [{"tokens": ["a", "runs", "unseen"]}]
    assert tag("word-lookup", train, test) == [["DET", "NOUN", "NOUN"]]
    assert tag("majority", train, test) == [["NOUN", "NOUN", "NOUN"]]  # NOUN 4 times, DET 3


@pytest.mark.parametrize("baseline", ["word-ngrams", "char-ngrams"])
def test_ngram_regression_learns_a_separable_set(baseline: str) -> None:
    """The label is in text_b only: the pair's second text must reach the model."""
    train = [pair(f"filler {index}", f"{word} item", "yes" if word == "good" else "no")
             for index in range(12) for word in ("good", "bad")]
    test = [pair("other", "good thing", "yes"), pair("other", "bad thing", "no")]
    assert classify(baseline, TOY, train, test) == (["yes", "no"], None)


def test_overlap_features_of_hand_made_pairs() -> None:
    assert overlap_features("The cat sat.", "sat the cat") == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert overlap_features("a b", "a b") == [1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    assert overlap_features("a b c d", "a e") == [0.5, 0.25, 0.2, 0.0, 0.0, 2.0]
    assert overlap_features("a a b", "a b b") == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]  # same set, not multiset


def test_overlap_learns_that_a_different_word_multiset_means_different() -> None:
    train = [pair("x y z", "z y x", "yes"), pair("x y z", "z y w", "no"), pair("p q", "q p", "yes"),
             pair("p q r", "p q s", "no"), pair("m n o", "o m n", "yes"), pair("m n", "m k", "no")]
    test = [pair("u v w", "w u v", "yes"), pair("u v w", "u v t", "no")]
    assert classify("overlap", TOY, train, test) == (["yes", "no"], None)


def test_ranking_scores_pages_by_expected_grade() -> None:
    train = [pair(f"q{index}", f"q{index} page", "4") for index in range(6)]
    train += [pair(f"q{index}", "unrelated page", "0") for index in range(6)]
    test = [pair("new", "unrelated", "0"), pair("new", "new page", "4")]
    predicted, relevance = classify("overlap", RANKING, train, test)
    assert predicted == ["0", "4"] and relevance[1] > relevance[0]
    assert classify("majority", RANKING, train, test)[1] == [2.0, 2.0]  # the mean grade: all tied


def test_ranking_job_writes_relevance_and_ndcg(tmp_path: Path) -> None:
    train = [pair(f"q{index}", f"q{index} page", "4") for index in range(6)]
    train += [pair(f"q{index}", "other page", "1") for index in range(6)]
    test = [pair("a", "a page", "3"), pair("a", "b page", "0"), pair("c", "c page", "2"), pair("c", "d", "2")]
    for name, rows in (("train", train), ("test", test)):
        write_parquet(rows, tmp_path / f"{name}.parquet", CLASSIFICATION_SCHEMA)
    run_baseline(baseline="overlap", task=definition(RANKING), language="de",
                 train_path=str(tmp_path / "train.parquet"), test_path=str(tmp_path / "test.parquet"),
                 predictions_path=str(tmp_path / "p.parquet"), metrics_path=str(tmp_path / "m.json"))
    assert pq.read_table(tmp_path / "p.parquet").schema.equals(predictions_schema(RANKING))
    record = load_metrics([tmp_path / "m.json"]).iloc[0]
    assert (record["metric"], record["objective"], record["language"]) == ("ndcg", "overlap", "de")
    assert record["score"] == pytest.approx(1.0)  # query a ranked right; query c all grade 2


def test_outputs_are_model_runs_to_the_tables(small_world: SmallWorld, outputs: Path) -> None:
    files = sorted(outputs.glob("metrics/**/*.json"))
    frame = load_metrics(files)
    assert set(frame["model"]) == {"baseline"} and set(frame["seed"]) == {0}
    assert set(zip(frame["objective"], frame["task"], strict=True)) == {
        (baseline, task) for task in ("topic", "nli", "pos", "ner")
        for baseline in task_baselines(definition(task_spec(task, small_world.world)))}
    for task in ("nli", "ner"):
        spec = task_spec(task, small_world.world)
        table = pq.read_table(outputs / paths.baseline_predictions("majority", task, "isolate"))
        assert table.schema.equals(predictions_schema(spec))
        assert table.num_rows == pq.read_metadata(small_world.split(task, "test", "isolate")).num_rows


def test_inapplicable_baseline_is_refused(small_world: SmallWorld, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not apply"):
        run_baseline(baseline="overlap", task=definition(task_spec("pos", small_world.world)),
                     language="en", train_path="", test_path="", predictions_path=str(tmp_path / "p"),
                     metrics_path=str(tmp_path / "m"))


def test_same_bytes_twice(small_world: SmallWorld, outputs: Path, tmp_path: Path) -> None:
    run_all(small_world, tmp_path, "isolate")
    written = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file())
    assert written and all((outputs / path).read_bytes() == (tmp_path / path).read_bytes()
                           for path in written)
