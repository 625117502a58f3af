"""What every benchmark here shares: one thread per side, the load average, and alternating repeats.

The machine these benchmarks were written on is shared, so a figure is only the ratio of two paths timed in
the same run, repeat by repeat in alternating order (neither always runs first, on a warmer or cooler
machine), with the load average printed beside it so a reader can tell a busy run from a quiet one.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any


def require(modules: Sequence[str], extra: str = "bench") -> None:
    """Exit in one line when an optional package is missing, naming the extra that installs it."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        sys.exit(f"needs {', '.join(missing)}: pip install -e '.[{extra}]'")


def one_thread(threads: int = 1) -> None:
    """Cap BLAS/OpenMP and torch at ``threads`` so both sides of a ratio get the same cores."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, for the line that says how busy the machine was."""
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def alternating(sides: dict[str, Callable[[], Any]], repeats: int,
                offset: int = 0) -> dict[str, tuple[list[float], Any]]:
    """Wall seconds of each repeat of each side and its last result, the sides' order reversed on every
    repeat (and on odd ``offset``s, for callers that alternate across calls), so drift in the machine's
    load falls on both."""
    names = list(sides)
    timings: dict[str, list[float]] = {name: [] for name in names}
    results: dict[str, Any] = {}
    for repeat in range(repeats):
        for name in names if (repeat + offset) % 2 == 0 else names[::-1]:
            started = time.perf_counter()
            results[name] = sides[name]()
            timings[name].append(time.perf_counter() - started)
    return {name: (timings[name], results[name]) for name in names}
