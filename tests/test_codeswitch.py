"""Dictionaries (MUSE-style files, the world's lexicon, induction from parallel text) and code-switching."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import SEED, SmallWorld

from mtbridge import codeswitch
from mtbridge.data import write_parallel_corpus, write_world_dictionary
from mtbridge.synthetic import World


def test_a_dictionary_file_with_several_translations(tmp_path: Path) -> None:
    path = tmp_path / "en-de.txt"
    path.write_text("house haus\nhouse heim\n\nthe der\nthe die\nthe der\n", encoding="utf-8")
    assert codeswitch.read_dictionary(path) == {"house": ["haus", "heim"], "the": ["der", "die"]}
    codeswitch.write_dictionary({"the": ["der", "die"], "house": ["haus"]}, tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_text() == "house haus\nthe der\nthe die\n"
    assert codeswitch.invert({"a": ["x", "y"], "b": ["x"]}) == {"x": ["a", "b"], "y": ["a"]}
    assert codeswitch.merge([{"a": ["x"]}, {"a": ["x", "y"], "b": ["z"]}]) == {"a": ["x", "y"], "b": ["z"]}


@pytest.mark.parametrize(("content", "message"), [
    (None, r"missing\.txt: no such dictionary file"),
    ("", r"d\.txt: the dictionary has no entries"),
    ("\n  \n", r"d\.txt: the dictionary has no entries"),
    ("a b\nc d e\n", r"d\.txt:2: expected 'source target' \(two words\), got 'c d e'"),
    ("a b\nlonely\n", r"d\.txt:2: expected 'source target' \(two words\), got 'lonely'"),
    (b"a \xff\n", r"d\.txt: not a readable UTF-8 dictionary"),
])
def test_a_bad_dictionary_fails_in_one_line_naming_the_file(tmp_path: Path, content, message: str) -> None:
    path = tmp_path / ("missing.txt" if content is None else "d.txt")
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as error:
        codeswitch.read_dictionary(path)
    assert "\n" not in str(error.value)


DICTIONARY = {"the": ["der", "die"], "house": ["haus"], "red": ["rot"], "is": ["ist"]}
WORDS = ["the", "red", "house", "is", "the", "house", "of", "the", "red", "king"]  # 8 eligible of 10


@pytest.mark.parametrize("share", [0.0, 0.1, 0.25, 0.5, 0.7, 1.0])
def test_code_switching_replaces_exactly_the_share_with_dictionary_words(share: float) -> None:
    for seed in range(20):
        switched, replaced, eligible = codeswitch.code_switch(WORDS, DICTIONARY, share, random.Random(seed))
        assert eligible == 8 and replaced == round(share * 8)
        changed = [i for i, (old, new) in enumerate(zip(WORDS, switched, strict=True)) if old != new]
        assert len(changed) == replaced
        assert all(switched[i] in DICTIONARY[WORDS[i]] for i in changed)
        assert switched[6] == "of" and switched[9] == "king"  # not in the dictionary


def test_code_switching_is_deterministic_and_varies_with_the_seed() -> None:
    draws = [codeswitch.code_switch(WORDS, DICTIONARY, 0.5, random.Random(seed))[0] for seed in (1, 1, 2, 3)]
    assert draws[0] == draws[1] and len({tuple(draw) for draw in draws}) > 2
    with pytest.raises(ValueError, match=r"share must be in \[0, 1\], got 1.5"):
        codeswitch.code_switch(WORDS, DICTIONARY, 1.5, random.Random(0))


def test_the_world_lexicon_pairs_every_inflected_form(small_world: SmallWorld, tmp_path: Path) -> None:
    world = World(small_world.world, SEED)
    en, close = world.language("en"), world.language("close")
    lexicon = world.lexicon("en", "close")
    noun, verb = world.all_nouns[0], world.all_verbs[0]
    assert close.form(noun) in lexicon[en.form(noun)]
    assert close.form(noun, close.suffixes["plural"]) in lexicon[en.form(noun, en.suffixes["plural"])]
    singular = close.form(verb, close.suffixes["verb_singular"])
    assert singular in lexicon[en.form(verb, en.suffixes["verb_singular"])]
    assert close.form("func:det") in lexicon[en.form("func:det")]
    assert not set(lexicon) & {word.lower() for name in world.names for word in name.split()}
    write_world_dictionary(small_world.world, SEED, "en", "close", tmp_path / "en-close.txt")
    assert codeswitch.read_dictionary(tmp_path / "en-close.txt") == lexicon


def world_dictionaries(small_world: SmallWorld, root: Path) -> list[dict]:
    entries = []
    for target in ("close", "isolate"):
        path = root / f"en-{target}.txt"
        write_world_dictionary(small_world.world, SEED, "en", target, path)
        entries.append({"source": "en", "target": target, "path": str(path)})
    return entries


def test_a_codeswitched_corpus(small_world: SmallWorld, tmp_path: Path) -> None:
    dictionaries = world_dictionaries(small_world, tmp_path)
    world = World(small_world.world, SEED)
    for language in ("en", "isolate"):
        output = tmp_path / f"{language}.parquet"
        codeswitch.write_codeswitched_corpus(corpus_path=small_world.monolingual(language),
                                             dictionaries=dictionaries, share=0.3, seed=1, output_path=output)
        original = pq.read_table(small_world.monolingual(language)).to_pylist()
        switched = pq.read_table(output).to_pylist()
        assert [row["id"] for row in switched] == [row["id"] for row in original]
        assert {row["language"] for row in switched} == {language}
        assert all(row["switched"] == round(0.3 * row["eligible"]) for row in switched)
        assert sum(row["switched"] for row in switched) > 0
        if language == "isolate":  # isolate words are replaced by English ones (the dictionary inverted)
            check = world.lexicon("isolate", "en")
            changed = [(old, new) for row, before in zip(switched, original, strict=True)
                       for old, new in zip(before["text"].split(), row["text"].split(), strict=True)
                       if old != new]
            assert changed and all(new in check[old] for old, new in changed)
        again = tmp_path / "again.parquet"
        codeswitch.write_codeswitched_corpus(corpus_path=small_world.monolingual(language),
                                             dictionaries=dictionaries, share=0.3, seed=1, output_path=again)
        assert again.read_bytes() == output.read_bytes()
    with pytest.raises(ValueError, match=r"no dictionary for language\(s\) \['close'\]"):
        codeswitch.write_codeswitched_corpus(corpus_path=small_world.monolingual("close"),
                                             dictionaries=dictionaries[1:], share=0.3, seed=1,
                                             output_path=tmp_path / "x.parquet")


def test_a_parallel_corpus_is_switched_side_by_side(small_world: SmallWorld, tmp_path: Path) -> None:
    output = tmp_path / "switched.parquet"
    codeswitch.write_codeswitched_corpus(corpus_path=small_world.parallel("en", "close"),
                                         dictionaries=world_dictionaries(small_world, tmp_path), share=1.0,
                                         seed=1, output_path=output)
    rows = pq.read_table(output).to_pylist()
    assert {row["language"] for row in rows} == {"en", "close"} and rows[0]["id"].endswith(":source")
    assert all(row["switched"] == row["eligible"] for row in rows)


def test_an_induced_dictionary_is_mostly_the_world_lexicon(small_world: SmallWorld, tmp_path: Path) -> None:
    world = {**small_world.world, "sizes": {**small_world.world["sizes"], "parallel": 400}}
    path = tmp_path / "en-isolate.parquet"
    write_parallel_corpus(world, SEED, "en", "isolate", path)
    codeswitch.write_induced_dictionary(parallel_paths=[path], source="en", target="isolate",
                                        output_path=tmp_path / "induced.txt")
    induced = codeswitch.read_dictionary(tmp_path / "induced.txt")
    lexicon = World(world, SEED).lexicon("en", "isolate")
    covered = [word for word in induced if word in lexicon]
    correct = [word for word in covered if induced[word][0] in lexicon[word]]
    assert len(correct) >= 0.95 * len(covered) and len(covered) >= 0.6 * len(lexicon)
    assert induced["."] == ["."]  # shared tokens translate to themselves
    reverse = codeswitch.induce_dictionary(codeswitch.parallel_sides([path], "isolate", "en"))
    inverse = codeswitch.invert(lexicon)
    assert all(induced.get(reverse[word][0]) == [word] for word in reverse if word in inverse)
    with pytest.raises(ValueError, match=r"no en-close pairs in"):
        codeswitch.parallel_sides([path], "en", "close")


def test_dice_keeps_mutual_best_pairs_above_the_threshold() -> None:
    pairs = [("a b", "x y"), ("a c", "x z"), ("a b", "x y"), ("c", "z"), ("d", "w")]
    assert codeswitch.induce_dictionary(pairs, threshold=0.5, min_count=1) == {
        "a": ["x"], "b": ["y"], "c": ["z"], "d": ["w"]}
    assert "d" not in codeswitch.induce_dictionary(pairs, threshold=0.5, min_count=2)
    assert codeswitch.induce_dictionary(pairs, threshold=0.5, min_count=1, max_words=1) == {"a": ["x"]}
