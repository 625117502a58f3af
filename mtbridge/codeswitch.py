"""Bilingual dictionaries and dictionary code-switching: token-level alignment (issue #15, part 1).

Sentence-level MT aligns whole sentences; code-switching aligns words: a share of a text's words is
replaced by their dictionary translations, so a model reads both languages in one context (as in
CoSDA-ML, Qin et al. 2020, and the code-switched pretraining of Yang et al. 2020). ``codeswitch-cp``
is the family's own source objective (denoising or masked LM) on a corpus written here.

Dictionaries are MUSE-style text files (Lample et al. 2018): one ``source target`` pair per line,
whitespace-separated, a word with several translations on several lines. They come from the synthetic
world's lexicon (``data.write_world_dictionary``), from the user at paper scale, or are induced from a
parallel corpus (``induce_dictionary``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mtbridge.aliases import PathLike
from mtbridge.io import write_parquet, write_text

Dictionary = dict[str, list[str]]  # source word -> its translations, in file order, each once
CODESWITCHED_SCHEMA = pa.schema([("id", pa.string()), ("language", pa.string()), ("text", pa.string()),
                                 ("switched", pa.int64()), ("eligible", pa.int64())])
DICE_THRESHOLD = 0.3
MIN_COUNT = 2


def read_dictionary(path: PathLike) -> Dictionary:
    """A MUSE-style dictionary; a missing, unreadable, empty or malformed file fails in one line naming
    the file (and the line)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such dictionary file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a readable UTF-8 dictionary ({error})") from None
    dictionary: Dictionary = {}
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise ValueError(f"{path}:{number}: expected 'source target' (two words), got {line.strip()!r}")
        translations = dictionary.setdefault(fields[0], [])
        if fields[1] not in translations:
            translations.append(fields[1])
    if not dictionary:
        raise ValueError(f"{path}: the dictionary has no entries")
    return dictionary


def write_dictionary(dictionary: Mapping[str, Sequence[str]], path: PathLike) -> None:
    """MUSE-style lines, sorted by source word, translations in their order."""
    write_text("".join(f"{word} {translation}\n" for word in sorted(dictionary)
                       for translation in dictionary[word]), path)


def invert(dictionary: Mapping[str, Sequence[str]]) -> Dictionary:
    """The target→source dictionary."""
    inverted: Dictionary = {}
    for word, translations in dictionary.items():
        for translation in translations:
            sources = inverted.setdefault(translation, [])
            if word not in sources:
                sources.append(word)
    return inverted


def merge(dictionaries: Iterable[Mapping[str, Sequence[str]]]) -> Dictionary:
    """One dictionary whose candidates for a word are those of every input (e.g. en→X for every X)."""
    merged: Dictionary = {}
    for dictionary in dictionaries:
        for word, translations in dictionary.items():
            merged.setdefault(word, []).extend(t for t in translations if t not in merged[word])
    return merged


def code_switch(words: Sequence[str], dictionary: Mapping[str, Sequence[str]], share: float,
                rng: random.Random) -> tuple[list[str], int, int]:
    """Replace exactly ``round(share × eligible)`` of the words found in ``dictionary`` (Python's round:
    halves to even), chosen uniformly by ``rng``, each by one of its translations drawn uniformly.
    Returns the new words, the number replaced and the number eligible."""
    if not 0 <= share <= 1:
        raise ValueError(f"code-switching share must be in [0, 1], got {share}")
    eligible = [index for index, word in enumerate(words) if word in dictionary]
    chosen = sorted(rng.sample(eligible, round(share * len(eligible))))
    switched = list(words)
    for index in chosen:
        switched[index] = rng.choice(list(dictionary[words[index]]))
    return switched, len(chosen), len(eligible)


def corpus_rows(path: PathLike) -> list[dict]:
    """``{id, language, text}`` rows of a monolingual corpus, or of both sides of a parallel one (ids
    suffixed ``:source`` / ``:target``), as the denoising control reads a parallel corpus."""
    table = pq.read_table(path)
    if "text" in table.column_names:
        return table.select(["id", "language", "text"]).to_pylist()
    return [{"id": f"{row['id']}:{side}", "language": row[f"{side}_language"], "text": row[side]}
            for row in table.to_pylist() for side in ("source", "target")]


def dictionaries_from(language: str, dictionaries: Sequence[Mapping[str, str]]) -> Dictionary:
    """The merged dictionary from ``language`` into every other: each entry ``{source, target, path}``
    read as it is where its source is ``language``, inverted where its target is."""
    oriented = [read_dictionary(entry["path"]) if entry["source"] == language else invert(read_dictionary(
        entry["path"])) for entry in dictionaries if language in (entry["source"], entry["target"])]
    return merge(oriented)


def write_codeswitched_corpus(*, corpus_path: PathLike, dictionaries: Sequence[Mapping[str, str]],
                              share: float, seed: int, output_path: PathLike) -> None:
    """The corpus with ``share`` of each text's dictionary words replaced (``code_switch``), words split
    on whitespace; each row's draws come from ``seed`` and its id only, so a row is switched the same
    whatever else the corpus holds. ``dictionaries`` lists ``{source, target, path}``; a row uses those of
    its language. Rows keep their id and language (the language tag a seq2seq model reads).
    """
    rows = corpus_rows(corpus_path)
    by_language = {language: dictionaries_from(language, dictionaries)
                   for language in dict.fromkeys(row["language"] for row in rows)}
    missing = sorted(language for language, dictionary in by_language.items() if not dictionary)
    if missing:
        raise ValueError(f"{corpus_path}: no dictionary for language(s) {missing}; given "
                         f"{[(entry['source'], entry['target']) for entry in dictionaries]}")
    out = []
    for row in rows:
        words, switched, eligible = code_switch(row["text"].split(), by_language[row["language"]], share,
                                                random.Random(f"{seed}\x1f{row['id']}"))
        out.append({**row, "text": " ".join(words), "switched": switched, "eligible": eligible})
    write_parquet(out, output_path, CODESWITCHED_SCHEMA)


# --- dictionary induction from a parallel corpus ------------------------------------------------------


def induce_dictionary(pairs: Iterable[tuple[str, str]], threshold: float = DICE_THRESHOLD,
                      min_count: int = MIN_COUNT, max_words: int | None = None) -> Dictionary:
    """A dictionary induced from sentence pairs by the Dice coefficient of sentence co-occurrence,

        Dice(s, t) = 2 C(s, t) / (C(s) + C(t)),

    C counting the pairs whose source side holds s (target side t; both for C(s, t)), each pair once
    (Och & Ney 2003 use it as an alignment baseline). A pair (s, t) is kept where t is s's best
    translation and s is t's best source (mutual best; ties to the alphabetically first word), Dice ≥
    ``threshold`` and both words occur in ≥ ``min_count`` pairs. ``max_words`` keeps only the most
    frequent words of each side, which bounds the co-occurrence matrix on a large corpus.
    """
    from scipy import sparse

    sources, targets = [], []
    for source, target in pairs:
        sources.append(set(source.split()))
        targets.append(set(target.split()))
    a, source_words = _incidence(sources, min_count, max_words)
    b, target_words = _incidence(targets, min_count, max_words)
    if not source_words or not target_words:
        return {}
    counts_a, counts_b = np.asarray(a.sum(axis=0)).ravel(), np.asarray(b.sum(axis=0)).ravel()
    together = sparse.coo_matrix(a.T @ b)
    dice = 2 * together.data / (counts_a[together.row] + counts_b[together.col])
    best_of_source = _best(together.row, together.col, dice)
    best_of_target = _best(together.col, together.row, dice)
    dictionary: Dictionary = {}
    for (i, j), value in best_of_source.items():
        if best_of_target.get((j, i)) is not None and value >= threshold:
            dictionary[source_words[i]] = [target_words[j]]
    return dict(sorted(dictionary.items()))


def _incidence(sides: list[set[str]], min_count: int, max_words: int | None):
    """The binary sentence × word matrix (CSR) of the words kept, and those words (sorted)."""
    from scipy import sparse

    counts: dict[str, int] = {}
    for words in sides:
        for word in words:
            counts[word] = counts.get(word, 0) + 1
    kept = sorted((word for word, count in counts.items() if count >= min_count),
                  key=lambda word: (-counts[word], word))[:max_words]
    vocabulary = sorted(kept)
    index = {word: position for position, word in enumerate(vocabulary)}
    rows = [row for row, words in enumerate(sides) for word in words if word in index]
    columns = [index[word] for words in sides for word in words if word in index]
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(sides), len(vocabulary)))
    return matrix, vocabulary


def _best(keys: np.ndarray, others: np.ndarray, values: np.ndarray) -> dict[tuple[int, int], float]:
    """For each key, its (key, other) with the highest value, the smallest ``other`` on a tie."""
    order = np.lexsort((others, -values, keys))
    first = np.ones(len(order), dtype=bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    return {(int(keys[i]), int(others[i])): float(values[i]) for i in order[first]}


def parallel_sides(paths: Sequence[PathLike], source: str, target: str) -> list[tuple[str, str]]:
    """``(source text, target text)`` of every pair between the two languages, in either direction."""
    pairs = []
    for path in paths:
        for row in pq.read_table(path).to_pylist():
            languages = (row["source_language"], row["target_language"])
            if languages == (source, target):
                pairs.append((row["source"], row["target"]))
            elif languages == (target, source):
                pairs.append((row["target"], row["source"]))
    if not pairs:
        raise ValueError(f"no {source}-{target} pairs in {[str(path) for path in paths]}")
    return pairs


def write_induced_dictionary(*, parallel_paths: Sequence[PathLike], source: str, target: str,
                             output_path: PathLike, threshold: float = DICE_THRESHOLD,
                             min_count: int = MIN_COUNT, max_words: int | None = None) -> None:
    """Induce the ``source``→``target`` dictionary from parallel corpora and write it MUSE-style."""
    dictionary = induce_dictionary(parallel_sides(parallel_paths, source, target), threshold, min_count,
                                   max_words)
    if not dictionary:
        raise ValueError(f"no {source}-{target} word pair reached Dice {threshold} in "
                         f"{[str(path) for path in parallel_paths]}")
    write_dictionary(dictionary, output_path)
