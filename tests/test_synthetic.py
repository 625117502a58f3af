"""The synthetic world: determinism, language independence, grammar and task semantics."""

from __future__ import annotations

import copy
import string
from collections import Counter
from dataclasses import replace

import pytest

from mtbridge.synthetic import (
    LATIN,
    SCRIPTS,
    Event,
    Name,
    NounPhrase,
    World,
    nli_label,
    paraphrase_label,
)
from mtbridge.tasks import NER_TAGS, NLI_LABELS, PARAPHRASE_LABELS, UPOS_TAGS

SEED = 7
EN_SUFFIXES = {"plural": "s", "verb_singular": "s", "verb_plural": ""}


def language(word_order: str = "SVO", share: float = 1.0, changes: tuple[str, ...] = (),
             script: str = "latin", suffixes: dict | None = None, adjective: str = "before",
             adposition: str = "preposition") -> dict:
    return {"word_order": word_order, "adjective": adjective, "adposition": adposition,
            "cognate_share": share, "sound_changes": list(changes), "script": script,
            "suffixes": suffixes or EN_SUFFIXES}


WORLD = {
    "topics": ["sports", "food", "music"],
    "nouns_per_topic": 6,
    "verbs_per_topic": 3,
    "adjectives_per_topic": 2,
    "shared_adjectives": 3,
    "names": 17,
    "conversion_share": 0.6,
    "sizes": {"monolingual": 60, "parallel": 20, "evaluation": 10, "train": 30, "dev": 12,
              "test": 12},
    "languages": {
        "en": language(),
        "twin": language(),
        "close": language(share=0.9, changes=("k>c",),
                          suffixes={"plural": "en", "verb_singular": "t", "verb_plural": "en"}),
        "mid": language("SOV", share=0.6, changes=("o>u", "t>d"), adjective="after",
                        adposition="postposition"),
        "stranger": language("VSO", share=0.0),
        "isolate": language("SOV", share=0.0, script="cyrillic",
                            suffixes={"plural": "ta", "verb_singular": "ru", "verb_plural": "ran"}),
    },
}


def with_languages(**languages: dict) -> dict:
    world = copy.deepcopy(WORLD)
    world["languages"] = languages
    return world


@pytest.fixture(scope="module")
def world() -> World:
    return World(WORLD, SEED)


def content(world: World) -> list[str]:
    return [concept for concept in world.roots if not concept.startswith("func:")]


def tagged(world: World, task: str, code: str, n: int = 60) -> list[list[tuple[str, str, str]]]:
    realiser = world.language(code)
    return [realiser.realise(example.a) for example in world.examples(task, "test", n)]


def simple_event(world: World, subject_plural: bool = False) -> Event:
    noun, other = world.nouns["food"][:2]
    return Event("food", NounPhrase(noun, plural=subject_plural), world.verbs["food"][0],
                 NounPhrase(other))


def test_same_world_and_seed_give_the_same_texts() -> None:
    first, second = World(WORLD, SEED), World(copy.deepcopy(WORLD), SEED)
    assert first.monolingual("mid", 50) == second.monolingual("mid", 50)
    assert first.task_split("nli", "dev", "isolate", 9) == second.task_split("nli", "dev",
                                                                              "isolate", 9)
    assert World(WORLD, SEED + 1).monolingual("mid", 50) != first.monolingual("mid", 50)


@pytest.mark.parametrize("languages", [("en", "close", "extra"), ("close",)])
def test_other_languages_do_not_change_a_language(languages: tuple[str, ...]) -> None:
    extra = language("OSV", share=0.5, changes=("a>o",))
    base = World(with_languages(en=WORLD["languages"]["en"], close=WORLD["languages"]["close"]),
                 SEED)
    specs = {"extra": extra, **WORLD["languages"]}
    other = World(with_languages(**{code: specs[code] for code in languages}), SEED)
    assert other.language("close").stems == base.language("close").stems
    for make in (lambda w: w.monolingual("close", 40), lambda w: w.evaluation("close", 10),
                 lambda w: w.task_split("ner", "test", "close", 10)):
        assert make(other) == make(base)
    if "en" in languages:
        assert other.parallel("en", "close", 10) == base.parallel("en", "close", 10)


def test_full_cognate_share_without_changes_copies_the_words(world: World) -> None:
    en, twin = world.language("en"), world.language("twin")
    assert all(twin.form(c) == en.form(c) == world.roots[world.conversions.get(c, c)]
               for c in content(world))
    assert en.cognates == frozenset(world.roots)


def test_zero_cognate_share_shares_almost_no_words(world: World) -> None:
    en, stranger = world.language("en"), world.language("stranger")
    assert not stranger.cognates
    assert sum(stranger.form(c) == en.form(c) for c in content(world)) <= len(content(world)) // 10


def test_sound_changes_rewrite_cognate_roots(world: World) -> None:
    close, mid = world.language("close"), world.language("mid")
    with_k = [c for c in close.cognates if "k" in world.roots[c]]
    assert with_k, "the test world needs a cognate root with a k"
    root = {c: world.roots[world.conversions.get(c, c)] for c in world.roots}
    assert all(close.stems[c] == root[c].replace("k", "c") for c in close.cognates)
    assert all("k" not in close.stems[c] for c in with_k)
    assert all(mid.stems[c] == root[c].replace("o", "u").replace("t", "d") for c in mid.cognates)
    assert 0.4 < len(mid.cognates) / len(world.roots) < 0.8


def forms(realiser, concept: str) -> set[str]:
    suffixes = realiser.suffixes
    endings = {"noun": ("", suffixes["plural"]), "verb": (suffixes["verb_singular"], suffixes["verb_plural"])}
    return {realiser.form(concept, ending) for ending in endings.get(concept[:4], ("",))}


def test_only_a_converted_pair_shares_a_form(world: World) -> None:
    for code in WORLD["languages"]:
        realiser = world.language(code)
        owners: dict[str, set[str]] = {}
        for concept in world.roots:
            for form in forms(realiser, concept):
                owners.setdefault(form, set()).add(world.conversions.get(concept, concept))
        assert all(len(bases) == 1 for bases in owners.values()), code


def test_conversion_makes_part_of_speech_depend_on_context(world: World) -> None:
    """English-like suffixes make a converted verb's forms the noun's forms: "runs" is a plural
    noun or a singular verb; a converted adjective is the noun's singular in every language."""
    en = world.language("en")
    verbs = [c for c, noun in world.conversions.items()
             if c.startswith("verb") and en.stems[c] == en.stems[noun]]
    adjectives = [c for c in world.conversions if c.startswith("adj")]
    assert verbs and adjectives
    assert forms(en, verbs[0]) == forms(en, world.conversions[verbs[0]])
    tags: dict[str, set[str]] = {}
    for tokens in tagged(world, "pos", "en", 300):
        for token, tag, _ in tokens:
            tags.setdefault(token, set()).add(tag)
    assert sum(len(found) > 1 for found in tags.values()) >= 5
    assert World({**WORLD, "conversion_share": 0.0}, SEED).conversions == {}


@pytest.mark.parametrize("order", ["SVO", "SOV", "VSO", "VOS", "OVS", "OSV"])
def test_word_order_places_subject_verb_and_object(order: str) -> None:
    world = World(with_languages(x=language(order)), SEED)
    event = simple_event(world)
    realiser = world.language("x")
    tokens = [token for token, _, _ in realiser.realise(((event,),))]
    positions = {"S": tokens.index(realiser.form(event.subject.noun)),
                 "V": tokens.index(realiser.form(event.verb, "s")),
                 "O": tokens.index(realiser.form(event.object.noun))}
    assert "".join(sorted(positions, key=positions.get)) == order
    assert tokens[-1] == "."


def test_adjective_and_adposition_placement(world: World) -> None:
    location = Name("LOC", next(name for name in world.names if " " not in name))
    event = replace(simple_event(world), location=location,
                    object=NounPhrase(world.nouns["food"][1], adjective=world.shared_adjectives[0]))
    en = [tag for _, tag, _ in world.language("en").realise(((event,),))]
    mid = [tag for _, tag, _ in world.language("mid").realise(((event,),))]
    assert en == ["DET", "NOUN", "VERB", "DET", "ADJ", "NOUN", "ADP", "PROPN", "PUNCT"]
    assert mid == ["DET", "NOUN", "DET", "NOUN", "ADJ", "VERB", "PROPN", "ADP", "PUNCT"]
    fronted = world.language("en").realise(((replace(event, fronted=True, negated=True),),))
    assert [tag for _, tag, _ in fronted][:4] == ["ADP", "PROPN", "DET", "NOUN"]
    assert [tag for _, tag, _ in fronted][4:6] == ["PART", "VERB"]


def test_suffixes_mark_plural_and_verb_agreement(world: World) -> None:
    close = world.language("close")
    event = simple_event(world)
    verb = close.stems[event.verb]
    cases = [(event, "t"), (simple_event(world, subject_plural=True), "en"),
             (replace(event, subject=Name("PER", world.names[0])), "t")]
    for sentence, suffix in cases:
        tokens = close.realise(((sentence,),))
        assert [token for token, tag, _ in tokens if tag == "VERB"] == [verb + suffix]
    plural = close.realise(((cases[1][0],),))
    assert plural[1][0] == close.stems[event.subject.noun] + "en"
    counted = replace(event, object=NounPhrase(event.object.noun, plural=True, number=3))
    assert [token for token, _, _ in close.realise(((counted,),))][-3:-1] == [
        "3", close.stems[event.object.noun] + "en"]


def test_tags_align_with_tokens_and_bio_is_valid(world: World) -> None:
    for code in WORLD["languages"]:
        for task, allowed in (("pos", UPOS_TAGS), ("ner", NER_TAGS)):
            for row in world.task_split(task, "test", code, 40):
                assert len(row["tokens"]) == len(row["tags"]) and set(row["tags"]) <= set(allowed)
                assert " ".join(row["tokens"]).split(" ") == row["tokens"]
                previous = "O"
                for tag in row["tags"]:
                    assert not tag.startswith("I-") or previous[2:] == tag[2:], row
                    previous = tag
    entities = Counter(tag for row in world.task_split("ner", "test", "en", 40)
                       for tag in row["tags"] if tag != "O")
    assert {"B-PER", "I-PER", "B-ORG", "B-LOC"} <= set(entities) and entities["B-LOC"] > 20
    assert entities["B-PER"] + entities["B-ORG"] + entities["B-LOC"] > 80


def test_sentences_are_mostly_six_to_fourteen_tokens(world: World) -> None:
    lengths = [len(row["text"].split()) for row in world.evaluation("en", 300)]
    assert sum(6 <= length <= 14 for length in lengths) / len(lengths) > 0.85
    assert max(lengths) <= 20


def test_nli_checker_follows_negation_monotonicity(world: World) -> None:
    verb, (noun, other) = world.verbs["food"][0], world.nouns["food"][:2]
    detailed = Event("food", Name("PER", world.names[0]), verb,
                     NounPhrase(noun, plural=True, adjective=world.shared_adjectives[0], number=4),
                     location=Name("LOC", world.names[1]))
    bare = replace(detailed, object=NounPhrase(noun, plural=True), location=None)

    def negated(event: Event) -> Event:
        return replace(event, negated=True)

    assert nli_label(detailed, bare) == "entailment"
    assert nli_label(bare, detailed) == "neutral"
    assert nli_label(negated(bare), negated(detailed)) == "entailment"
    assert nli_label(negated(detailed), negated(bare)) == "neutral"
    assert nli_label(detailed, negated(bare)) == "contradiction"
    assert nli_label(negated(bare), detailed) == "contradiction"
    assert nli_label(negated(detailed), bare) == "neutral"
    assert nli_label(bare, replace(bare, object=NounPhrase(other, plural=True))) == "neutral"


def test_nli_labels_are_balanced_and_follow_from_the_semantics(world: World) -> None:
    examples = world.examples("nli", "train", 90)
    assert Counter(example.label for example in examples) == {label: 30 for label in NLI_LABELS}
    for example in examples:
        (premise,), (hypothesis,) = example.a[0], example.b[0]
        assert nli_label(premise, hypothesis) == example.label and premise != hypothesis
        if example.label != "neutral":
            negated_a, negated_b = ("PART" in [tag for _, tag, _ in world.language("en").realise(text)]
                                    for text in (example.a, example.b))
            assert (negated_a != negated_b) == (example.label == "contradiction")


def test_paraphrase_pairs_differ_in_form_never_in_their_words_alone(world: World) -> None:
    """Negatives swap subject and object. Pairs differ in voice or, both active, in where the location
    stands: never one string twice. Within each kind, both labels occur equally and have the same
    words, so comparing word multisets says nothing."""
    examples = world.examples("paraphrase", "train", 200)
    assert Counter(example.label for example in examples) == {"different": 100, "paraphrase": 100}
    kinds: Counter = Counter()
    for example in examples:
        (a,), (b,) = example.a[0], example.b[0]
        assert a.location is not None and paraphrase_label(a, b) == example.label
        assert a.passive != b.passive or a.fronted != b.fronted
        kinds[(a.passive != b.passive, example.label)] += 1
        if example.label == "different":
            assert replace(b, fronted=False, passive=False) == replace(
                a, subject=a.object, object=a.subject, fronted=False, passive=False)
    assert kinds == {(voice, label): 50 for voice in (True, False) for label in PARAPHRASE_LABELS}
    for code in WORLD["languages"]:
        rows = world.task_split("paraphrase", "test", code, 100)
        assert all(row["text_a"] != row["text_b"] for row in rows)
        words = Counter((Counter(row["text_a"].split()) == Counter(row["text_b"].split()), row["label"])
                        for row in rows)
        assert words[(True, "paraphrase")] == words[(True, "different")], (code, words)


def test_the_passive_keeps_the_meaning_and_marks_the_agent(world: World) -> None:
    en = world.language("en")
    event = replace(simple_event(world), location=None)
    active, passive = en.realise(((event,),)), en.realise(((replace(event, passive=True),),))
    assert [tag for _, tag, _ in passive] == ["DET", "NOUN", "AUX", "VERB", "ADP", "DET", "NOUN", "PUNCT"]
    assert Counter(active) + Counter([(en.form("func:pass"), "AUX", "O"), (en.form("func:by"), "ADP", "O")]) \
        == Counter(passive)
    assert paraphrase_label(event, replace(event, passive=True)) == "paraphrase"
    assert nli_label(event, replace(event, passive=True)) == "entailment"


def test_topic_labels_are_the_world_topics(world: World) -> None:
    rows = world.task_split("topic", "dev", "mid", 30)
    assert Counter(row["label"] for row in rows) == {topic: 10 for topic in WORLD["topics"]}
    assert all(row["text_b"] is None and row["text_a"].count(" .") == 2 for row in rows)
    for example in world.examples("topic", "dev", 30):
        assert {event.topic for sentence in example.a for event in sentence} == {example.label}


def test_cyrillic_writes_every_word_and_name_in_its_own_script(world: World) -> None:
    latin = set(string.ascii_letters)
    names = [token for tokens in tagged(world, "ner", "isolate")
             for token, tag, _ in tokens if tag == "PROPN"]
    assert names and all(token.istitle() for token in names)
    assert not any(set(token) & latin for tokens in tagged(world, "pos", "isolate") for token, _, _ in tokens)
    assert all(len(set(SCRIPTS[script].values())) == len(LATIN) for script in ("greek", "cyrillic"))


def test_same_id_same_semantics_across_languages(world: World) -> None:
    def entities(code: str) -> dict[str, Counter]:
        return {row["id"]: Counter((token.lower().translate(realiser._script), tag)
                                   for token, tag in zip(row["tokens"], row["tags"], strict=True)
                                   if tag != "O" or token.isdigit())
                for realiser in [world.language(code)] for row in world.task_split("ner", "test", code, 30)}

    english = entities("en")
    assert english == entities("mid")
    assert {i: Counter(tag for _, tag in found.elements()) for i, found in english.items()} == {
        i: Counter(tag for _, tag in found.elements()) for i, found in entities("isolate").items()}
    assert sum(len(found) for found in english.values()) > 60
    assert [row["id"] for row in world.evaluation("mid", 3)] == ["eval-000001", "eval-000002",
                                                                 "eval-000003"]


def test_parallel_is_the_same_in_both_directions(world: World) -> None:
    forward, backward = world.parallel("en", "mid", 15), world.parallel("mid", "en", 15)
    assert [(r["id"], r["source"], r["target"]) for r in forward] == [
        (r["id"], r["target"], r["source"]) for r in backward]
    assert forward[0]["source_language"] == "en" and backward[0]["source_language"] == "mid"


def test_monolingual_counts_sentences_in_documents(world: World) -> None:
    rows = world.monolingual("close", 61)
    assert sum(row["text"].split().count(".") for row in rows) == 61
    assert {row["text"].split().count(".") for row in rows} == {1, 2, 3}
    assert len({row["id"] for row in rows}) == len(rows)


def test_a_name_takes_its_entity_type_from_context(world: World) -> None:
    tokens = [token for name in world.names for token in name.split()]
    assert len(world.names) == 17 and len(tokens) == len(set(tokens)) and all(t.istitle() for t in tokens)
    assert {len(name.split()) for name in world.names} == {1, 2}
    types: dict[str, set[str]] = {}
    for row in world.task_split("ner", "train", "en", 200):
        for token, tag in zip(row["tokens"], row["tags"], strict=True):
            if tag.startswith("B-"):
                types.setdefault(token, set()).add(tag[2:])
    assert sum(found == {"PER", "ORG", "LOC"} for found in types.values()) >= 5
    marker = world.language("en").form("func:org")
    for row in world.task_split("ner", "train", "en", 50):
        for index, tag in enumerate(row["tags"]):
            if tag == "B-ORG":
                assert row["tokens"][index - 1] == marker


def test_unknown_language_and_task_fail_clearly(world: World) -> None:
    with pytest.raises(ValueError, match=r"unknown language 'xx' \(defined: en, twin"):
        world.monolingual("xx", 3)
    with pytest.raises(ValueError, match="unknown task 'qa'"):
        world.task_split("qa", "dev", "en", 3)
    with pytest.raises(ValueError, match="word_order"):
        World(with_languages(bad=language("SXO")), SEED).language("bad")

