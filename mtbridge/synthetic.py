"""A deterministic synthetic multilingual world (in the spirit of "Fake-English").

Every text is realised from one language-independent semantic representation (events),
so corpora, parallel data and task sets in different languages share meaning exactly,
while languages differ in word order, morphology, cognacy and script as configured.
All randomness comes from ``random.Random`` seeded by hashing string keys, and every
key that shapes a language's words or monolingual texts names that language only, so
adding or removing a language never changes another one.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from mtbridge.tasks import NLI_LABELS, PARAPHRASE_LABELS, task_spec

Token = tuple[str, str, str]  # (surface form, UPOS tag, BIO entity tag)

CONSONANTS = "ptkbdgmnlrsfvz"
VOWELS = "aeiou"
CODAS = "nmrlsk"
CONTENT_SYLLABLES = (1, 2, 2, 2, 3)  # choices for the syllable count of a content word
NAME_SYLLABLES = (2, 2, 3)
LATIN = "abcdefghijklmnopqrstuvwxyz"
# One distinct letter per Latin letter, so transliteration never merges two words.
SCRIPTS = {
    "latin": {},
    "greek": str.maketrans(LATIN, "αβψδεφγηιϳκλμνοπϙρστυϝωξχζ"),
    "cyrillic": str.maketrans(LATIN, "абцдефгхийклмнопчрстувшжыз"),
}
WORD_ORDERS = ("SVO", "SOV", "VSO", "VOS", "OVS", "OSV")
# func:org marks an organisation ("the firm X"): a name's entity type comes from its context;
# func:pass and func:by make a passive clause ("X is seen by Y")
FUNCTION_WORDS = ("func:det", "func:neg", "func:adp", "func:and", "func:org", "func:pass", "func:by")
TWO_TOKEN_NAMES = 0.4  # probability that a name has a second token
SPLITS = ("train", "dev", "test")
_CHOICES = {
    "word_order": WORD_ORDERS,
    "adjective": ("before", "after"),
    "adposition": ("preposition", "postposition"),
    "script": tuple(SCRIPTS),
}


def _rng(*key: object) -> random.Random:
    """A generator seeded from a string key: stable across runs, unlike the salted ``hash()``."""
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _pseudo_word(rng: random.Random, syllables: Sequence[int]) -> str:
    """A CV(C)-syllable word, the phonotactics shared by every language of the world."""
    return "".join(
        rng.choice(CONSONANTS) + rng.choice(VOWELS)
        + (rng.choice(CODAS) if rng.random() < 0.25 else "")
        for _ in range(rng.choice(syllables)))


def _claim(used: set[str], endings: Sequence[str], stem: str) -> bool:
    """Reserve every inflected form of ``stem``, unless one of them is already taken."""
    forms = {stem + ending for ending in endings}
    if not used.isdisjoint(forms):
        return False
    used.update(forms)
    return True


def _claim_root(taken: list[str], root: str) -> bool:
    """Keep proto-roots prefix-free: then no suffixes can give two of them a common form."""
    if any(root.startswith(other) or other.startswith(root) for other in taken):
        return False
    taken.append(root)
    return True


def _fresh(accept: Callable[[str], bool], syllables: Sequence[int], *key: object,
           style: Callable[[str], str] = str) -> str:
    """The first pseudo-word drawn from ``key`` (then ``key`` + attempt) that ``accept`` claims."""
    words = (style(_pseudo_word(_rng(*key, attempt), syllables)) for attempt in itertools.count())
    return next(word for word in words if accept(word))


def _syllables(concept: str) -> Sequence[int]:
    return (1,) if concept in FUNCTION_WORDS else CONTENT_SYLLABLES


@dataclass(frozen=True)
class Name:
    """A name in one of its roles: the same text can be a person, an organisation or a place, so
    its entity type must be read from context (a location phrase, the organisation marker).
    Every language writes it in its own script."""

    kind: str  # PER, ORG or LOC
    text: str


@dataclass(frozen=True)
class NounPhrase:
    noun: str
    plural: bool = False
    adjective: str | None = None
    number: int | None = None


Entity = Name | NounPhrase


@dataclass(frozen=True)
class Event:
    """The meaning of one clause; ``fronted`` puts the location phrase first and ``passive`` says it
    in the passive voice (the object first, the subject after "by"): both keep the meaning."""

    topic: str
    subject: Entity
    verb: str
    object: Entity
    negated: bool = False
    location: Name | None = None
    fronted: bool = False
    passive: bool = False


Sentence = tuple[Event, ...]  # clauses joined by "and"
Text = tuple[Sentence, ...]


@dataclass(frozen=True)
class Example:
    """Language-independent semantics of one task row: every language realises the same."""

    id: str
    a: Text
    b: Text | None
    label: str | None


@dataclass(frozen=True)
class Profile:
    """How often events use each optional piece; tasks tune it (NER wants many names)."""

    on_topic: float = 0.85
    subject_name: float = 0.3
    object_name: float = 0.2
    organisation: float = 0.3
    adjective: float = 0.35
    plural: float = 0.35
    number: float = 0.15
    negated: float = 0.25
    location: float = 0.4
    fronted: float = 0.3
    passive: float = 0.2
    coordinated: float = 0.1


DEFAULT = Profile()
SINGLE = Profile(coordinated=0.0)
NER_PROFILE = Profile(subject_name=0.85, object_name=0.6, location=0.8)
PARAPHRASE_PROFILE = Profile(location=1.0, coordinated=0.0, passive=0.0)


def _core(entity: Entity) -> object:
    """What identifies an entity once optional details (adjective, number) are dropped."""
    return entity if isinstance(entity, Name) else (entity.noun, entity.plural)


def _details(event: Event) -> dict[str, object]:
    """The optional information of an event, by slot."""
    details: dict[str, object] = {}
    for role in ("subject", "object"):
        entity = getattr(event, role)
        if isinstance(entity, NounPhrase):
            details.update({f"{role}.{field}": getattr(entity, field)
                            for field in ("adjective", "number") if getattr(entity, field)})
    if event.location:
        details["location"] = event.location
    return details


def _with_detail(event: Event, slot: str, value: object) -> Event:
    if slot == "location":
        return replace(event, location=value)
    role, field = slot.split(".")
    return replace(event, **{role: replace(getattr(event, role), **{field: value})})


def nli_label(premise: Event, hypothesis: Event) -> str:
    """The NLI label that follows from the semantics, with the monotonicity of negation.

    A positive clause entails the same clause with fewer details; a negative clause entails
    the same negative clause with more details; a positive and a negative clause contradict
    when the positive one says at least what the negative one denies.
    """
    if (_core(premise.subject), premise.verb, _core(premise.object)) != (
            _core(hypothesis.subject), hypothesis.verb, _core(hypothesis.object)):
        return "neutral"
    said, claimed = _details(premise).items(), _details(hypothesis).items()
    if premise.negated == hypothesis.negated:
        entailed = said <= claimed if premise.negated else claimed <= said
        return "entailment" if entailed else "neutral"
    positive, negative = (claimed, said) if premise.negated else (said, claimed)
    return "contradiction" if negative <= positive else "neutral"


def paraphrase_label(a: Event, b: Event) -> str:
    """Paraphrases differ at most in where the location phrase stands."""
    def meaning(event: Event) -> Event:
        return replace(event, fronted=False, passive=False)

    return "paraphrase" if meaning(a) == meaning(b) else "different"


def _sound_change(root: str, rules: Sequence[str]) -> str:
    for rule in rules:
        old, new = rule.split(">")
        root = root.replace(old, new)
    return root


def _validate(code: str, spec: Mapping) -> None:
    for key, allowed in _CHOICES.items():
        if spec.get(key) not in allowed:
            raise ValueError(f"language {code!r}: {key} must be one of {', '.join(allowed)}, "
                             f"got {spec.get(key)!r}")
    bad = [rule for rule in spec["sound_changes"] if rule.count(">") != 1 or rule.startswith(">")]
    if bad:
        raise ValueError(f"language {code!r}: sound changes must look like 'a>b', got {bad}")


class Language:
    """One language's lexicon and grammar: turns semantics into tagged tokens."""

    def __init__(self, code: str, spec: Mapping, roots: Mapping[str, str], seed: int,
                 conversions: Mapping[str, str] | None = None) -> None:
        _validate(code, spec)
        self.code = code
        self.word_order = spec["word_order"]
        self.adjective_first = spec["adjective"] == "before"
        self.postposition = spec["adposition"] == "postposition"
        self.suffixes = dict(spec["suffixes"])
        self._script = SCRIPTS[spec["script"]]
        self._forms: dict[tuple[str, str], str] = {}
        self.stems: dict[str, str] = {}  # concept -> Latin-letter stem
        cognates: set[str] = set()
        used: set[str] = set()  # every inflected form taken so far
        for concept, root in roots.items():
            endings = self._endings(concept)
            base = (conversions or {}).get(concept)
            if base is not None and self._convert(used, concept, base):
                if base in cognates:
                    cognates.add(concept)
                continue
            changed = _sound_change(root, spec["sound_changes"])
            if (_rng(seed, "cognate", code, concept).random() < spec["cognate_share"]
                    and _claim(used, endings, changed)):
                cognates.add(concept)
                self.stems[concept] = changed
            else:
                self.stems[concept] = _fresh(functools.partial(_claim, used, endings),
                                             _syllables(concept), seed, "word", code, concept)
        self.cognates = frozenset(cognates)

    def _convert(self, used: set[str], concept: str, base: str) -> bool:
        """Give ``concept`` the stem of the noun ``base`` (conversion, as English "run" / "runs"),
        so a form can be a noun in one context and a verb or adjective in another; refused when
        the new forms would collide with a third concept's."""
        stem = self.stems[base]
        new = {stem + ending for ending in self._endings(concept)} - {
            stem + ending for ending in self._endings(base)}
        if not used.isdisjoint(new):
            return False
        used.update(new)
        self.stems[concept] = stem
        return True

    def _endings(self, concept: str) -> tuple[str, ...]:
        """The suffixes a concept's stem appears with, so that no two concepts share a form."""
        part = concept.split(":")[0]
        if part == "verb":
            return self.suffixes["verb_singular"], self.suffixes["verb_plural"]
        return ("", self.suffixes["plural"]) if part == "noun" else ("",)

    def form(self, concept: str, suffix: str = "") -> str:
        """The surface form of a concept with a suffix, in the language's script (cached)."""
        key = (concept, suffix)
        if key not in self._forms:
            self._forms[key] = (self.stems[concept] + suffix).translate(self._script)
        return self._forms[key]

    def realise(self, text: Text) -> list[Token]:
        """Tagged tokens of a text: the source of both the plain texts and the tagging tasks."""
        return [token for sentence in text for token in self._sentence(sentence)]

    def text(self, text: Text) -> str:
        """The whitespace-tokenised text, so words and tags stay aligned one to one."""
        return " ".join(token[0] for token in self.realise(text))

    def _sentence(self, sentence: Sentence) -> list[Token]:
        tokens: list[Token] = []
        for index, event in enumerate(sentence):
            if index:
                tokens.append((self.form("func:and"), "CCONJ", "O"))
            tokens.extend(self._clause(event))
        tokens.append((".", "PUNCT", "O"))
        return tokens

    def _clause(self, event: Event) -> list[Token]:
        first, second = (event.object, event.subject) if event.passive else (event.subject, event.object)
        agreement = self.suffixes["verb_plural" if _is_plural(first) else "verb_singular"]
        verb = [(self.form(event.verb, agreement), "VERB", "O")]
        if event.passive:
            verb.insert(0, (self.form("func:pass"), "AUX", "O"))
        if event.negated:
            verb.insert(0, (self.form("func:neg"), "PART", "O"))
        agent = [(self.form("func:by"), "ADP", "O")] if event.passive else []
        parts = {"S": self._entity(first), "V": verb, "O": agent + self._entity(second)}
        clause = [token for slot in self.word_order for token in parts[slot]]
        if event.location is None:
            return clause
        adposition = [(self.form("func:adp"), "ADP", "O")]
        name = self._name(event.location)
        location = name + adposition if self.postposition else adposition + name
        return location + clause if event.fronted else clause + location

    def _entity(self, entity: Entity) -> list[Token]:
        if isinstance(entity, Name):
            name = self._name(entity)
            return [(self.form("func:org"), "DET", "O"), *name] if entity.kind == "ORG" else name
        phrase = [(self.form(entity.noun, self.suffixes["plural"] if entity.plural else ""),
                   "NOUN", "O")]
        if entity.adjective:
            adjective = [(self.form(entity.adjective), "ADJ", "O")]
            phrase = adjective + phrase if self.adjective_first else phrase + adjective
        head = (str(entity.number), "NUM", "O") if entity.number else (
            self.form("func:det"), "DET", "O")
        return [head, *phrase]


    def _name(self, name: Name) -> list[Token]:
        written = [word.lower().translate(self._script).capitalize() for word in name.text.split()]
        return [(word, "PROPN", f"{'I' if index else 'B'}-{name.kind}") for index, word in enumerate(written)]


class World:
    """Concepts, names and every corpus of the world defined by a config's ``world`` and seed."""

    def __init__(self, config: Mapping, seed: int) -> None:
        self.config = config
        self.seed = int(seed)
        self.topics = tuple(config["topics"])
        self.nouns = self._concepts("noun", config["nouns_per_topic"])
        self.verbs = self._concepts("verb", config["verbs_per_topic"])
        self.adjectives = self._concepts("adj", config["adjectives_per_topic"])
        self.shared_adjectives = tuple(
            f"adj:shared:{i}" for i in range(config["shared_adjectives"]))
        self.all_nouns = tuple(c for topic in self.topics for c in self.nouns[topic])
        self.all_verbs = tuple(c for topic in self.topics for c in self.verbs[topic])
        concepts = FUNCTION_WORDS + self.all_nouns + self.all_verbs + tuple(
            c for topic in self.topics for c in self.adjectives[topic]) + self.shared_adjectives
        taken: list[str] = []
        claim = functools.partial(_claim_root, taken)
        self.roots = {c: _fresh(claim, _syllables(c), self.seed, "root", c) for c in concepts}
        self.conversions = self._conversions(config["conversion_share"])
        self.names = self._names()
        self._languages: dict[str, Language] = {}

    def _concepts(self, part: str, count: int) -> dict[str, tuple[str, ...]]:
        return {topic: tuple(f"{part}:{topic}:{i}" for i in range(count)) for topic in self.topics}

    def _conversions(self, share: float) -> dict[str, str]:
        """Verbs and topic adjectives that share a noun's word (noun i of a topic for verb i, the
        nouns after the verbs' for the adjectives), and the adpositions that share the negation's
        (as English "to" is a particle and a preposition), so part of speech depends on context."""
        pairs = {}
        for topic in self.topics:
            nouns, verbs, adjectives = self.nouns[topic], self.verbs[topic], self.adjectives[topic]
            pairs.update(zip(verbs, nouns, strict=False))
            pairs.update(zip(adjectives, nouns[len(verbs):], strict=False))
        drawn = {concept: noun for concept, noun in pairs.items()
                 if _rng(self.seed, "conversion", concept).random() < share}
        return {"func:adp": "func:neg", "func:by": "func:neg", **drawn} if share > 0 else {}

    def _names(self) -> tuple[str, ...]:
        """One pool of name texts for every entity type; no name token is used twice."""
        claim = functools.partial(_claim, set(), ("",))
        return tuple(self._name_text(claim, i) for i in range(self.config["names"]))

    def _name_text(self, claim: Callable[[str], bool], index: int) -> str:
        length = 1 + (_rng(self.seed, "name-length", index).random() < TWO_TOKEN_NAMES)
        return " ".join(_fresh(claim, NAME_SYLLABLES, self.seed, "name", index, part, style=str.capitalize)
                        for part in range(length))

    def _named(self, rng: random.Random, kind: str) -> Name:
        return Name(kind, rng.choice(self.names))

    def language(self, code: str) -> Language:
        """The language ``code`` (built once); unknown codes fail naming the defined ones."""
        if code not in self._languages:
            specs = self.config["languages"]
            if code not in specs:
                raise ValueError(f"unknown language {code!r} (defined: {', '.join(specs)})")
            self._languages[code] = Language(code, specs[code], self.roots, self.seed, self.conversions)
        return self._languages[code]

    def lexicon(self, source: str, target: str) -> dict[str, list[str]]:
        """The world's bilingual dictionary, ``source`` word -> its ``target`` translations: every
        inflected form of every concept (nouns in both numbers, verbs in both agreements), paired slot
        by slot; a form that several concepts share (conversion) lists each one's translation. Names and
        digits are no concepts and are left out."""
        a, b = self.language(source), self.language(target)
        entries: dict[str, set[str]] = {}
        for concept in self.roots:
            for ending_a, ending_b in zip(a._endings(concept), b._endings(concept), strict=True):
                entries.setdefault(a.form(concept, ending_a), set()).add(b.form(concept, ending_b))
        return {word: sorted(translations) for word, translations in sorted(entries.items())}

    # -- semantics -------------------------------------------------------------------------

    def _pick(self, rng: random.Random, on_topic: tuple[str, ...], every: tuple[str, ...],
              profile: Profile) -> str:
        return rng.choice(on_topic if rng.random() < profile.on_topic else every)

    def _adjective(self, rng: random.Random, topic: str) -> str:
        return rng.choice(self.adjectives[topic] + self.shared_adjectives)

    def _entity(self, rng: random.Random, profile: Profile, topic: str, name_share: float,
                avoid: Collection[object] = ()) -> Entity:
        """A name or a noun phrase whose core differs from those in ``avoid``."""
        while True:
            if rng.random() < name_share:
                entity: Entity = self._named(rng, "ORG" if rng.random() < profile.organisation else "PER")
            else:
                number = rng.randint(2, 12) if rng.random() < profile.number else None
                entity = NounPhrase(
                    self._pick(rng, self.nouns[topic], self.all_nouns, profile),
                    plural=number is not None or rng.random() < profile.plural,
                    adjective=self._adjective(rng, topic) if rng.random() < profile.adjective
                    else None,
                    number=number)
            if _core(entity) not in avoid:
                return entity

    def event(self, rng: random.Random, profile: Profile = DEFAULT,
              topic: str | None = None) -> Event:
        """One random event; its verb and nouns come mostly from its topic."""
        topic = topic or rng.choice(self.topics)
        subject = self._entity(rng, profile, topic, profile.subject_name)
        obj = self._entity(rng, profile, topic, profile.object_name, avoid=(_core(subject),))
        verb = self._pick(rng, self.verbs[topic], self.all_verbs, profile)
        location = self._named(rng, "LOC") if rng.random() < profile.location else None
        return Event(topic, subject, verb, obj, negated=rng.random() < profile.negated,
                     location=location, fronted=bool(location) and rng.random() < profile.fronted,
                     passive=rng.random() < profile.passive)

    def sentence(self, rng: random.Random, profile: Profile = DEFAULT,
                 topic: str | None = None) -> Sentence:
        """One clause, sometimes followed by "and" and a short clause (no location, no adjective)
        of the same topic, which keeps sentences within about 14 words."""
        first = self.event(rng, profile, topic)
        if rng.random() < profile.coordinated:
            short = replace(profile, adjective=0.0, location=0.0)
            return (first, self.event(rng, short, first.topic))
        return (first,)

    # -- corpora ---------------------------------------------------------------------------

    def monolingual(self, language: str, n: int) -> list[dict]:
        """``n`` sentences as documents of 1-3 same-topic sentences (not parallel: the key
        names the language)."""
        realiser = self.language(language)
        rows: list[dict] = []
        done = 0
        while done < n:
            rng = _rng(self.seed, "monolingual", language, len(rows))
            topic = rng.choice(self.topics)
            text = tuple(self.sentence(rng, DEFAULT, topic)
                         for _ in range(min(rng.randint(1, 3), n - done)))
            rows.append({"id": f"mono-{language}-{len(rows) + 1:06d}", "language": language,
                         "text": realiser.text(text)})
            done += len(text)
        return rows

    def _shared_sentences(self, n: int, *key: object) -> list[Text]:
        return [(self.sentence(_rng(self.seed, *key, i)),) for i in range(n)]

    def parallel(self, source: str, target: str, n: int, split: str = "train") -> list[dict]:
        """``n`` sentence pairs; seeded by the unordered pair so both directions hold the same.

        ``split="test"`` draws a held-out set (for the translation check) from another key and
        drops any sentence whose meaning also occurs in the training pairs, so a translation
        score never rewards a memorised pair.
        """
        realisers = self.language(source), self.language(target)
        pair = "-".join(sorted((source, target)))
        texts = self._shared_sentences(n, "parallel", pair) if split == "train" else self._held_out(
            n, pair)
        prefix = "para" if split == "train" else f"para-{split}"
        return [{"id": f"{prefix}-{pair}-{i + 1:06d}", "source_language": source,
                 "target_language": target, "source": realisers[0].text(text),
                 "target": realisers[1].text(text)}
                for i, text in enumerate(texts)]

    def _held_out(self, n: int, pair: str) -> list[Text]:
        seen = set(self._shared_sentences(self.config["sizes"]["parallel"], "parallel", pair))
        drawn = ((self.sentence(_rng(self.seed, "parallel-test", pair, i)),) for i in itertools.count())
        return list(itertools.islice((text for text in drawn if text not in seen), n))

    def evaluation(self, language: str, n: int) -> list[dict]:
        """``n`` single sentences with the same ids and semantics in every language."""
        realiser = self.language(language)
        return [{"id": f"eval-{i + 1:06d}", "language": language, "text": realiser.text(text)}
                for i, text in enumerate(self._shared_sentences(n, "evaluation"))]

    # -- tasks -----------------------------------------------------------------------------

    def examples(self, task: str, split: str, n: int) -> list[Example]:
        """The semantics of a task split; row ``i`` is the same in every language."""
        task_spec(task, self.config)
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
        make = {"nli": self._nli, "paraphrase": self._paraphrase, "topic": self._topic,
                "pos": self._tagged, "ner": self._tagged}[task]
        return [Example(f"{task}-{split}-{i + 1:06d}",
                        *make(_rng(self.seed, task, split, i), i, task)) for i in range(n)]

    def task_split(self, task: str, split: str, language: str, n: int) -> list[dict]:
        """Rows of a task split realised in ``language`` (classification or tagging schema)."""
        realiser = self.language(language)
        examples = self.examples(task, split, n)
        if task_spec(task, self.config).kind == "tagging":
            column = 1 if task == "pos" else 2
            return [_tagging_row(example.id, language, realiser.realise(example.a), column)
                    for example in examples]
        return [{"id": example.id, "language": language, "text_a": realiser.text(example.a),
                 "text_b": realiser.text(example.b) if example.b else None,
                 "label": example.label} for example in examples]

    def _tagged(self, rng: random.Random, index: int, task: str) -> tuple:
        return (self.sentence(rng, NER_PROFILE if task == "ner" else DEFAULT),), None, None

    def _topic(self, rng: random.Random, index: int, task: str) -> tuple:
        topic = self.topics[index % len(self.topics)]
        return (self.sentence(rng, SINGLE, topic), self.sentence(rng, SINGLE, topic)), None, topic

    def _paraphrase(self, rng: random.Random, index: int, task: str) -> tuple:
        """Different = subject and object swapped. The two sides of every pair differ in voice
        (one passive) or, for half the pairs, both active, in where the location phrase stands: no
        pair is one string twice, and the label is balanced within each kind of pair. Subject and
        object agree in number, so a swap keeps the verb's form: both classes have the same words,
        and only word order read with the voice (who does what to whom) tells them apart."""
        event = self.event(rng, PARAPHRASE_PROFILE)
        while _is_plural(event.subject) != _is_plural(event.object):
            event = self.event(rng, PARAPHRASE_PROFILE)
        other = event
        if PARAPHRASE_LABELS[index % len(PARAPHRASE_LABELS)] == "different":
            other = replace(event, subject=event.object, object=event.subject)
        fronted = rng.random() < 0.5
        if (index // len(PARAPHRASE_LABELS)) % 2:  # voice differs
            passive = rng.random() < 0.5
            a = replace(event, fronted=fronted, passive=passive)
            b = replace(other, fronted=rng.random() < 0.5, passive=not passive)
        else:
            a, b = replace(event, fronted=fronted), replace(other, fronted=not fronted)
        return ((a,),), ((b,),), paraphrase_label(a, b)

    def _nli(self, rng: random.Random, index: int, task: str) -> tuple:
        """Draw premise/hypothesis pairs until the checker confirms the wanted label; a hypothesis
        never repeats its premise (that would make "same string" an entailment shortcut)."""
        label = NLI_LABELS[index % len(NLI_LABELS)]
        while True:
            premise = self.event(rng, SINGLE)
            hypothesis = self._hypothesis(rng, premise, label)
            if hypothesis not in (None, premise) and nli_label(premise, hypothesis) == label:
                return ((premise,),), ((hypothesis,),), label

    def _hypothesis(self, rng: random.Random, premise: Event, label: str) -> Event | None:
        """Entailment and contradiction follow the monotonicity of the premise (drop details
        from a positive one, add to a negative one); neutral goes against it or swaps the object."""
        flip = label == "contradiction" or (label == "neutral" and rng.random() < 0.5)
        hypothesis = replace(premise, negated=premise.negated != flip)
        if label == "neutral" and rng.random() < 0.5:
            avoid = (_core(premise.subject), _core(premise.object))
            return replace(hypothesis, object=self._entity(
                rng, SINGLE, premise.topic, SINGLE.object_name, avoid=avoid))
        if premise.negated == (label == "neutral"):
            return self._drop(rng, hypothesis)
        return self._add(rng, hypothesis)

    def _drop(self, rng: random.Random, event: Event) -> Event:
        details = sorted(_details(event))
        for slot in rng.sample(details, rng.randint(1, len(details))) if details else ():
            event = _with_detail(event, slot, None)
        return event

    def _add(self, rng: random.Random, event: Event) -> Event | None:
        open_slots = [f"{role}.adjective" for role in ("subject", "object")
                      if isinstance(getattr(event, role), NounPhrase)
                      and not getattr(event, role).adjective]
        open_slots += [] if event.location else ["location"]
        if not open_slots:
            return None
        slot = rng.choice(open_slots)
        value = self._named(rng, "LOC") if slot == "location" else self._adjective(
            rng, event.topic)
        return _with_detail(event, slot, value)


def _is_plural(entity: Entity) -> bool:
    return isinstance(entity, NounPhrase) and entity.plural


def _tagging_row(row_id: str, language: str, tokens: list[Token], column: int) -> dict:
    return {"id": row_id, "language": language, "tokens": [token[0] for token in tokens],
            "tags": [token[column] for token in tokens]}
