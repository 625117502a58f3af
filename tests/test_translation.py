"""The translation check: held-out test sets, greedy decoding framed as training, scores, the table."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from sacrebleu.metrics import BLEU, CHRF

from mtbridge.data import write_parallel_corpus, write_parallel_test_set
from mtbridge.io import read_json, write_json, write_parquet
from mtbridge.tasks import CORPUS_SCHEMA, PARALLEL_SCHEMA
from mtbridge.translation import (
    COPY,
    TRAINED_MARK,
    both_directions,
    encode_sources,
    generate_ids,
    pair_evaluation_sets,
    score_copy,
    translate_test_set,
    write_translation_tables,
)

SEED = 7


def test_held_out_set_shares_no_meaning_with_the_corpus(micro_config, tmp_path):
    world = copy.deepcopy(micro_config["world"])
    world["sizes"].update(parallel=150, parallel_test=60)
    write_parallel_corpus(world, SEED, "en", "isolate", tmp_path / "train.parquet")
    write_parallel_test_set(world, SEED, "en", "isolate", tmp_path / "test.parquet")
    train, test = (pd.read_parquet(tmp_path / name) for name in ("train.parquet", "test.parquet"))
    assert len(test) == 60 and test["id"].is_unique
    # realisation is a function of meaning: a shared meaning would show as a shared sentence
    for side in ("source", "target"):
        assert not set(test[side]) & set(train[side])
    assert not set(test["id"]) & set(train["id"])


def test_copy_scores_are_sacrebleu_on_the_source(tmp_path):
    sources = ["the cat sat on the mat .", "a dog ran ."]
    targets = ["the cat sat on a mat .", "one dog runs fast ."]
    rows = [{"id": f"s{i}", "source_language": "en", "target_language": "close", "source": s, "target": t}
            for i, (s, t) in enumerate(zip(sources, targets, strict=True))]
    write_parquet(rows, tmp_path / "test.parquet", PARALLEL_SCHEMA)
    score_copy(test_path=str(tmp_path / "test.parquet"), scores_path=str(tmp_path / "copy.json"))
    record = read_json(tmp_path / "copy.json")
    assert (record["model"], record["objective"]) == COPY
    forward, backward = record["directions"]
    assert (forward["source_language"], backward["source_language"]) == ("en", "close")
    for scores, hypotheses, references in ((forward, sources, targets), (backward, targets, sources)):
        assert scores["chrf"] == round(CHRF(word_order=2).corpus_score(hypotheses, [references]).score, 4)
        assert scores["bleu"] == round(BLEU().corpus_score(hypotheses, [references]).score, 4)
        assert "nw:2" in scores["chrf_signature"] and "tok:13a" in scores["bleu_signature"]


def test_greedy_decoding_is_deterministic_and_starts_as_training_did(random_checkpoints, tokenizer, specs):
    from mtbridge.models import load_pretrained
    from mtbridge.tokenizer import framing
    from mtbridge.training import select_device

    frame = framing(tokenizer, "mbart", ["en", "close"])
    model = load_pretrained(random_checkpoints["mbart"]).eval()
    sources = encode_sources(tokenizer, frame, ["tam gi neredims tam ti .", "pi Foba ."], "en", 48)
    assert sources[0][0] == frame.language_ids["en"] and sources[0][-1] == frame.eos
    first, second = (generate_ids(model, frame, sources, "close", 12, select_device()) for _ in range(2))
    assert first == second
    # the decoder sees `</s> [close]` first: what shift_tokens_right made of `[close] y </s>` in training
    assert all(ids[:2] == [frame.eos, frame.language_ids["close"]] for ids in first)


@pytest.fixture(scope="module")
def translation_world(micro_config, tmp_path_factory):
    """An en–close corpus and its held-out test set (the held-out check needs the corpus's size)."""
    root = tmp_path_factory.mktemp("translation")
    world = copy.deepcopy(micro_config["world"])
    world["sizes"].update(parallel=60, parallel_test=30)
    write_parallel_corpus(world, SEED, "en", "close", root / "train.parquet")
    write_parallel_test_set(world, SEED, "en", "close", root / "test.parquet")
    return root


@pytest.mark.slow
def test_an_mt_checkpoint_beats_an_untrained_one(random_checkpoints, specs, translation_world, tmp_path):
    from mtbridge.pretraining import continue_pretraining

    trained = tmp_path / "mt-m2m"
    settings = {"tokens": 150_000, "batch_size": 16, "learning_rate": 0.003, "warmup_ratio": 0.05}
    continue_pretraining(spec=specs["mbart"], objective="mt-m2m", languages=["en", "close"],
                         train_language="en", settings=settings, source_dir=str(random_checkpoints["mbart"]),
                         corpus_paths=[str(translation_world / "train.parquet")], output_dir=str(trained),
                         seed=SEED, threads=1)
    chrf = {}
    for name, checkpoint in (("mt-m2m", trained), ("random-init", random_checkpoints["mbart"])):
        translate_test_set(spec=specs["mbart"], languages=["en", "close"], checkpoint_dir=str(checkpoint),
                           test_path=str(translation_world / "test.parquet"),
                           hypotheses_path=str(tmp_path / f"{name}.parquet"),
                           scores_path=str(tmp_path / f"{name}.json"),
                           meta={"model": "mbart", "objective": name}, threads=1)
        chrf[name] = [scores["chrf"] for scores in read_json(tmp_path / f"{name}.json")["directions"]]
    assert all(mt > untrained + 3 for mt, untrained in zip(chrf["mt-m2m"], chrf["random-init"], strict=True))
    hypotheses = pd.read_parquet(tmp_path / "mt-m2m.parquet")
    assert list(hypotheses.columns) == ["id", "source_language", "target_language", "source", "reference",
                                        "hypothesis"]
    assert len(hypotheses) == 2 * 30 and hypotheses["hypothesis"].str.len().gt(0).all()


def score_file(path, model, objective, value):
    directions = [("en", "close"), ("close", "en")]
    write_json({"model": model, "objective": objective,
                "directions": [{"source_language": s, "target_language": t, "chrf": value, "bleu": value / 2}
                               for s, t in directions]}, path)
    return path


def test_table_marks_trained_directions(tmp_path):
    from mtbridge.figures import translation_bars

    objectives = ["source", "mt-o2m", "mt-m2o", "mt-m2m"]
    paths = [score_file(tmp_path / f"{objective}.json", "mbart", objective, 10.0 + index)
             for index, objective in enumerate(objectives)]
    paths.append(score_file(tmp_path / "copy.json", *COPY, 5.0))
    pairs = [["en", "close"]]
    kwargs = dict(rows={"mbart": objectives}, languages=["close"], train_language="en",
                  mt_pairs={"mbart": {"mt-o2m": pairs, "mt-m2o": pairs, "mt-m2m": None}},
                  study={"name": "toy", "config_hash": "0123456789ab"},
                  csv_path=tmp_path / "table.csv", markdown_path=tmp_path / "table.md")
    write_translation_tables(paths=paths, **kwargs)
    table = pd.read_csv(tmp_path / "table.csv", keep_default_na=False).set_index("objective")
    assert table.loc["mt-o2m", "trained"] == "en-close" and table.loc["mt-m2o", "trained"] == "close-en"
    assert table.loc["mt-m2m", "trained"] == "hub" and table.loc["source", "trained"] == ""
    assert table.loc["copy", "chrf.en-close"] == 5.0 and table.loc["mt-o2m", "bleu.close-en"] == 5.5
    markdown = (tmp_path / "table.md").read_text()
    assert markdown.split("\n\n")[1] == "Study `toy` (config 0123456789ab)."
    assert f"| mbart | mt-o2m | 11.0{TRAINED_MARK} | 11.0 |" in markdown
    assert f"| mbart | mt-m2o | 12.0 | 12.0{TRAINED_MARK} |" in markdown
    assert "mbart / mt-m2m: trained on the directions of the published hub checkpoint" in markdown
    translation_bars(table_path=tmp_path / "table.csv", model="mbart", output_path=tmp_path / "mbart.png")
    assert (tmp_path / "mbart.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="missing"):
        write_translation_tables(paths=paths[1:], **kwargs)
    with pytest.raises(ValueError, match="duplicate"):  # a run reported twice must not be averaged
        write_translation_tables(paths=[*paths, paths[0]], **kwargs)


def test_flores_sets_pair_by_id(tmp_path):
    def corpus(language, ids):
        path = tmp_path / f"{language}.parquet"
        write_parquet([{"id": i, "language": language, "text": f"{language} {i}"} for i in ids], path,
                      CORPUS_SCHEMA)
        return path

    pair_evaluation_sets(source_path=corpus("en", ["a", "b"]), target_path=corpus("de", ["b", "a"]),
                         path=tmp_path / "test.parquet")
    items = both_directions(tmp_path / "test.parquet")
    assert [(item["source"], item["reference"]) for item in items] == [
        ("en a", "de a"), ("en b", "de b"), ("de a", "en a"), ("de b", "en b")]
    with pytest.raises(ValueError, match="same sentence ids"):
        pair_evaluation_sets(source_path=corpus("en", ["a", "c"]), target_path=tmp_path / "de.parquet",
                             path=tmp_path / "bad.parquet")
