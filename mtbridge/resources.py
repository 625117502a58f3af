"""Per-language resource levels (issue #15, part 2): how much monolingual and parallel text a language has.

A level scales the configured sizes: ``low: {monolingual: 0.1, parallel: 0.1}`` gives a language a tenth
of ``sizes.monolingual`` sentences and each of its pairs a tenth of ``sizes.parallel`` (a number alone
scales both). A pair gets the smaller parallel share of its two languages, as the lower-resourced side
limits real bitext. A language without a level, or a config without levels, keeps the full sizes.

Only sizes change: the synthetic world draws row i of a corpus from a key naming i, so a smaller corpus
is the first rows of the full one (the last document possibly cut short), and every other corpus, the
lexicon, the evaluation set and the task splits are untouched (tests/test_resources.py). At paper scale
the same levels cap the pairs read per language pair (``pair_size`` on the configured maximum).

Standard library only, so the DAG and the data jobs can both import it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

KINDS = ("monolingual", "parallel")
FULL = "high"  # the level of a language that names none


def level_factors(levels: Mapping[str, object], level: str, where: str = "resource") -> dict[str, float]:
    """The monolingual and parallel shares of ``level``; ``FULL`` (when not defined) is 1 and 1."""
    if level not in levels:
        if level == FULL:
            return dict.fromkeys(KINDS, 1.0)
        defined = ", ".join(levels) or "none"
        raise ValueError(f"{where}: unknown resource level {level!r} (defined: {defined})")
    value = levels[level]
    factors = dict.fromkeys(KINDS, value) if isinstance(value, int | float) else dict(value)
    if set(factors) != set(KINDS) or not all(isinstance(f, int | float) and 0 < f <= 1
                                                for f in factors.values()):
        raise ValueError(f"resource level {level!r}: expected a share in (0, 1] or {{monolingual: share, "
                         f"parallel: share}}, got {value!r}")
    return {kind: float(factors[kind]) for kind in KINDS}


def scaled(size: int, factor: float) -> int:
    """``factor`` of ``size`` sentences, rounded, at least one."""
    return max(1, round(size * factor))


def language_level(world: Mapping, language: str) -> str:
    return world["languages"][language].get("resource", FULL)


def language_factors(world: Mapping, language: str) -> dict[str, float]:
    return level_factors(world.get("resource_levels", {}), language_level(world, language),
                         f"world.languages.{language}.resource")


def language_sizes(world: Mapping, language: str) -> dict[str, int]:
    """A language's monolingual sentences, and the parallel pairs of its pairs before the other side's cap."""
    factors = language_factors(world, language)
    return {kind: scaled(world["sizes"][kind], factors[kind]) for kind in KINDS}


def pair_size(world: Mapping, source: str, target: str, size: int | None = None) -> int:
    """Parallel pairs of ``source``-``target``: ``size`` (default ``sizes.parallel``) scaled by the
    smaller parallel share of the two languages."""
    factor = min(language_factors(world, language)["parallel"] for language in (source, target))
    return scaled(world["sizes"]["parallel"] if size is None else size, factor)


def language_world(world: Mapping, language: str) -> dict:
    """``world`` with ``sizes.monolingual`` set to ``language``'s: what its corpus job is given."""
    sized = copy.deepcopy(dict(world))
    sized["sizes"]["monolingual"] = language_sizes(world, language)["monolingual"]
    return sized


def pair_world(world: Mapping, source: str, target: str) -> dict:
    """``world`` with ``sizes.parallel`` set to the pair's: what its parallel-corpus job is given. The
    held-out translation test set keeps the unscaled world: it then stays the same, and still shares no
    meaning with the (smaller) training pairs."""
    sized = copy.deepcopy(dict(world))
    sized["sizes"]["parallel"] = pair_size(world, source, target)
    return sized


def by_level(world: Mapping, languages: Sequence[str]) -> dict[str, list[str]]:
    """Languages grouped by resource level, levels in first-seen order: how tables group them."""
    groups: dict[str, list[str]] = {}
    for language in languages:
        groups.setdefault(language_level(world, language), []).append(language)
    return groups
